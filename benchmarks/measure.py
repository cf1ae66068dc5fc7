"""Wall time and peak memory of child processes.

Peak memory is the kernel's own high-water mark of resident memory (``VmHWM`` in
``/proc/PID/status``) of the child and of each of its descendants, read every
20 ms and summed over the tree.  The high-water mark is monotonic, so a spike
between two reads is still seen at the next read; only growth in the last few
milliseconds before exit can be missed.

Not ``ru_maxrss`` from ``wait4``/``getrusage(RUSAGE_CHILDREN)``: the kernel carries
the high-water mark across ``execve``, so a child forked from this (large) harness
reports the harness's size (measured: ``/bin/true`` showed 51 MB, a 78 MB target 294 MB).
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import psutil  # type: ignore[import-untyped]

POLL_SECONDS = 0.02


@dataclass
class ChildRun:
    """What one child process cost."""

    name: str
    returncode: int
    seconds: float
    peak_rss_bytes: int
    log_path: Path

    @property
    def peak_rss_mb(self) -> float:
        """Peak resident memory in MiB."""
        return self.peak_rss_bytes / 2**20

    def log_tail(self, lines: int = 15) -> str:
        """The end of the child's stderr, for error reports."""
        text = self.log_path.read_text(encoding="utf-8", errors="replace")
        return "\n".join(text.splitlines()[-lines:])


def _high_water_mark(pid: int) -> int:
    """VmHWM of one process in bytes (0 if it is gone or a zombie)."""
    try:
        with open(f"/proc/{pid}/status", "rb") as status:
            for line in status:
                if line.startswith(b"VmHWM:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return 0


class _TreePoller(threading.Thread):
    """Follows the high-water marks of a process and its descendants until it exits."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.marks: dict[int, int] = {}
        self.done = threading.Event()

    @property
    def peak(self) -> int:
        """Sum of every process's own peak: exact for one process, an upper bound for a tree."""
        return sum(self.marks.values())

    def _sample(self, root: psutil.Process) -> None:
        pids = [self.pid]
        with contextlib.suppress(psutil.Error):
            pids += [child.pid for child in root.children(recursive=True)]
        for pid in pids:
            mark = _high_water_mark(pid)
            if mark > self.marks.get(pid, 0):
                self.marks[pid] = mark

    def run(self) -> None:
        try:
            root = psutil.Process(self.pid)
        except psutil.Error:
            return
        while not self.done.is_set():
            self._sample(root)
            self.done.wait(POLL_SECONDS)


@dataclass
class _Started:
    name: str
    process: subprocess.Popen[bytes]
    poller: _TreePoller
    started: float
    log_path: Path


def _start(
    name: str,
    command: Sequence[str],
    *,
    stdin: IO[bytes] | int | None,
    stdout: IO[bytes] | int | None,
    log_path: Path,
    env: dict[str, str] | None,
) -> _Started:
    log = log_path.open("wb")
    started = time.perf_counter()
    process = subprocess.Popen(list(command), stdin=stdin, stdout=stdout, stderr=log, env=env)
    log.close()
    poller = _TreePoller(process.pid)
    poller.start()
    return _Started(name, process, poller, started, log_path)


def _finish(child: _Started) -> ChildRun:
    returncode = child.process.wait()
    seconds = time.perf_counter() - child.started
    child.poller.done.set()
    child.poller.join()
    return ChildRun(child.name, returncode, seconds, child.poller.peak, child.log_path)


def run_child(
    name: str,
    command: Sequence[str],
    *,
    stdin_path: Path | None,
    stdout_path: Path | None,
    log_path: Path,
    env: dict[str, str] | None = None,
) -> ChildRun:
    """Run ``command`` with stdin from a file and stdout to a file (or nowhere), and measure it."""
    with (
        stdin_path.open("rb") if stdin_path else open(os.devnull, "rb") as stdin,
        stdout_path.open("wb") if stdout_path else open(os.devnull, "wb") as stdout,
    ):
        return _finish(
            _start(name, command, stdin=stdin, stdout=stdout, log_path=log_path, env=env)
        )


def run_pipeline(
    producer: tuple[str, Sequence[str]],
    consumer: tuple[str, Sequence[str]],
    *,
    stdout_path: Path | None,
    log_dir: Path,
    env: dict[str, str] | None = None,
) -> tuple[ChildRun, ChildRun, float]:
    """Run ``producer | consumer`` and measure each side; also return the pipeline's wall time."""
    read_end, write_end = os.pipe()
    started = time.perf_counter()
    with (
        open(os.devnull, "rb") as devnull,
        stdout_path.open("wb") if stdout_path else open(os.devnull, "wb") as stdout,
    ):
        first = _start(
            producer[0],
            producer[1],
            stdin=devnull,
            stdout=write_end,
            log_path=log_dir / f"{producer[0]}.log",
            env=env,
        )
        os.close(write_end)
        second = _start(
            consumer[0],
            consumer[1],
            stdin=read_end,
            stdout=stdout,
            log_path=log_dir / f"{consumer[0]}.log",
            env=env,
        )
        os.close(read_end)
        producer_run = _finish(first)
        consumer_run = _finish(second)
    return producer_run, consumer_run, time.perf_counter() - started


def run_target_into(
    endpoint_url: str,
    bucket: str,
    data: Path,
    *,
    work: Path,
    label: str,
    settings: dict[str, Any],
) -> ChildRun:
    """Run ``target-s3-endor`` over the Singer file ``data`` into ``bucket`` on the local S3.

    The config (local S3 credentials plus ``settings``) and the target's log go to ``work``,
    named by ``label``; a failed run stops the benchmark, naming its log.
    """
    from tests.conftest import S3_TEST_CREDENTIALS

    config = {
        "bucket": bucket,
        "endpoint_url": endpoint_url,
        "region": S3_TEST_CREDENTIALS["region_name"],
        "aws_access_key_id": S3_TEST_CREDENTIALS["aws_access_key_id"],
        "aws_secret_access_key": S3_TEST_CREDENTIALS["aws_secret_access_key"],
        **settings,
    }
    config_path = work / f"config-{label}.json"
    config_path.write_text(json.dumps(config))
    run = run_child(
        f"target {label}",
        [str(Path(sys.executable).parent / "target-s3-endor"), "--config", str(config_path)],
        stdin_path=data,
        stdout_path=None,
        log_path=work / f"target-{label}.log",
    )
    if run.returncode != 0:
        raise SystemExit(f"the target failed: see {run.log_path}")
    return run
