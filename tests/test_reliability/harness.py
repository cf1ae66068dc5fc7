"""Run ``tap | target`` as real processes joined by a pipe this module controls.

The pump copies the tap's stdout into the target's stdin line by line, so a
test can kill either process after an exact number of lines; the target's
stdout (its STATE lines) is read as it comes, so the last state printed before
a kill is known and the next run resumes from it, as a scheduler would.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

BIN = Path(sys.executable).parent
TAP = str(BIN / "tap-endorlabs")
TARGET = str(BIN / "target-s3-endor")
# How the tap (msgspec) writes a record line: the stream name follows.
RECORD_PREFIX = b'{"type":"RECORD","stream":"'


@dataclass
class RunResult:
    """What one (possibly interrupted) pipeline run did."""

    tap_code: int | None
    target_code: int | None
    lines_pumped: int
    states: list[dict[str, Any]]
    tap_stderr: str
    target_stderr: str
    killed: str | None = None
    stream_lines: Counter[str] = field(default_factory=Counter)

    @property
    def last_state(self) -> dict[str, Any] | None:
        """The last state the target printed (the one to resume from)."""
        return self.states[-1] if self.states else None


@dataclass
class Pipeline:
    """Configs and working directory of a tap | target pipeline."""

    workdir: Path
    tap_config: dict[str, Any]
    target_config: dict[str, Any]
    env: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        (self.workdir / "tap.json").write_text(json.dumps(self.tap_config))
        (self.workdir / "target.json").write_text(json.dumps(self.target_config))
        self._runs = 0

    def run(
        self,
        state: dict[str, Any] | None = None,
        *,
        kill: str | None = None,
        after_lines: int = 0,
        after_states: int = 0,
        kill_signal: int = signal.SIGKILL,
        timeout: float = 180,
    ) -> RunResult:
        """One run from ``state``; with ``kill`` ("tap" or "target"), signal it mid-run.

        The signal goes out once ``after_lines`` lines were pumped and the target
        has printed ``after_states`` states (whichever comes later).

        Killing the tap closes the target's input, as a dead tap would; killing
        the target closes the tap's output pipe, so the tap dies of a broken pipe.
        """
        self._runs += 1
        tag = f"run{self._runs}"
        command = [TAP, "--config", str(self.workdir / "tap.json")]
        if state is not None:
            state_file = self.workdir / f"{tag}-state-in.json"
            state_file.write_text(json.dumps(state))
            command += ["--state", str(state_file)]
        env = {**os.environ, **self.env}
        tap_err = (self.workdir / f"{tag}-tap.err").open("w+")
        target_err = (self.workdir / f"{tag}-target.err").open("w+")
        tap = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=tap_err, stdin=subprocess.DEVNULL, env=env
        )
        target = subprocess.Popen(
            [TARGET, "--config", str(self.workdir / "target.json")],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=target_err,
            env=env,
        )
        states: list[dict[str, Any]] = []
        reader = threading.Thread(target=_read_states, args=(target.stdout, states), daemon=True)
        reader.start()
        timer = threading.Timer(timeout, _kill_both, args=(tap, target))
        timer.start()
        lines = 0
        killed = None
        per_stream: Counter[str] = Counter()
        assert tap.stdout is not None and target.stdin is not None
        try:
            for line in tap.stdout:
                if kill and lines >= after_lines and len(states) >= after_states:
                    victim = tap if kill == "tap" else target
                    victim.send_signal(kill_signal)
                    killed = kill
                    break
                try:
                    target.stdin.write(line)
                    target.stdin.flush()
                except BrokenPipeError:
                    break
                lines += 1
                if line.startswith(RECORD_PREFIX):
                    per_stream[line[len(RECORD_PREFIX) :].split(b'"', 1)[0].decode()] += 1
        finally:
            _close(target.stdin)
            if killed == "target":
                target.wait()
            _close(tap.stdout)
            tap.wait()
            target.wait()
            reader.join()
            timer.cancel()
        result = RunResult(
            tap.returncode,
            target.returncode,
            lines,
            states,
            _read(tap_err),
            _read(target_err),
            killed,
            per_stream,
        )
        (self.workdir / f"{tag}-states.jsonl").write_text(
            "".join(json.dumps(s) + "\n" for s in states)
        )
        return result


def run_in_process(pipeline: Pipeline, state: dict[str, Any] | None = None) -> RunResult:
    """An uninterrupted run of ``pipeline`` from ``state``, tap then target in this process.

    For a run no signal interrupts (a campaign's finishing run): what it shows (every
    record and a last state) does not need two plugin processes, each ~0.6 s of CPU to
    start.  The tap's whole output is the target's input, as a pipe would carry it.
    """
    # Imported here: the plugins' modules load only in tests that run them this way.
    from tap_endorlabs.tap import TapEndorLabs
    from target_s3_endor.target import TargetS3Endor
    from tests.support.in_process_cli import run_cli_in_process

    assert not pipeline.env, "an in-process run has this process's environment"
    pipeline._runs += 1
    tag = f"run{pipeline._runs}"
    args = ["--config", str(pipeline.workdir / "tap.json")]
    if state is not None:
        state_file = pipeline.workdir / f"{tag}-state-in.json"
        state_file.write_text(json.dumps(state))
        args += ["--state", str(state_file)]
    tap = run_cli_in_process(TapEndorLabs, args)
    target = run_cli_in_process(
        TargetS3Endor, ["--config", str(pipeline.workdir / "target.json")], tap.stdout
    )
    per_stream: Counter[str] = Counter()
    lines = tap.stdout.splitlines(keepends=True)
    for line in lines:
        if line.startswith(RECORD_PREFIX):
            per_stream[line[len(RECORD_PREFIX) :].split(b'"', 1)[0].decode()] += 1
    states = [json.loads(line) for line in target.stdout.decode().splitlines() if line.strip()]
    (pipeline.workdir / f"{tag}-states.jsonl").write_text(
        "".join(json.dumps(s) + "\n" for s in states)
    )
    return RunResult(
        tap.returncode,
        target.returncode,
        len(lines),
        states,
        tap.stderr.decode(errors="replace"),
        target.stderr.decode(errors="replace"),
        None,
        per_stream,
    )


def _read_states(stream: IO[bytes], states: list[dict[str, Any]]) -> None:
    for raw in stream:
        text = raw.decode().strip()
        if text:
            states.append(json.loads(text))


def _close(stream: IO[bytes] | None) -> None:
    if stream is None:
        return
    with contextlib.suppress(BrokenPipeError, OSError):
        stream.close()


def _kill_both(*processes: subprocess.Popen[bytes]) -> None:
    for process in processes:
        if process.poll() is None:
            process.kill()


def _read(handle: IO[str]) -> str:
    handle.flush()
    handle.seek(0)
    text = handle.read()
    handle.close()
    return text
