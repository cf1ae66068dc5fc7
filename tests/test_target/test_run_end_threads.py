"""The run's worker threads end with the run, not at the process's exit.

The upload pool (``max_concurrent_uploads`` threads) and the compression worker
start at their first job; they idled after the last drain until the process
exited, which an in-process run (a test, an orchestrator embedding the target)
never does.  Here the target object stays referenced, so nothing but the
target's own shutdown can end them (no garbage collection, no exit).
In-process, against the local S3 server.
"""

from __future__ import annotations

import io
import json
import threading
from contextlib import redirect_stdout
from typing import Any

import pytest

from target_s3_endor.errors import TargetS3EndorError
from target_s3_endor.storage.written import ObjectWritten
from target_s3_endor.target import TargetS3Endor
from tests.test_target.conftest import (
    audit_log,
    lines,
    process_globals_kept,
    record,
    schema,
    state,
)

RUN_THREADS = ("upload", "compress")  # thread_name_prefix of the two pools


def _messages() -> str:
    """Three drains of audit logs on two days, each followed by a state."""
    messages = [schema("audit_logs")]
    for n in range(6):
        messages.append(record("audit_logs", audit_log(n, day=2 + n % 2)))
        if n % 2:
            messages.append(state({"bookmarks": {"audit_logs": {"n": n}}}))
    return lines(*messages)


def _new_run_threads(before: set[threading.Thread]) -> list[str]:
    return [
        thread.name
        for thread in set(threading.enumerate()) - before
        if thread.is_alive() and thread.name.startswith(RUN_THREADS)
    ]


def _run(config: dict[str, Any], seen: list[set[str]], tail: str = "") -> tuple[TargetS3Endor, str]:
    """The target over the messages; ``seen`` gets the thread names at each object written."""

    def observe(_: ObjectWritten) -> None:
        seen.append({thread.name for thread in threading.enumerate()})

    printed = io.StringIO()
    with process_globals_kept():
        target = TargetS3Endor(config=config, validate_config=True)
        target.run.on_object_written(observe)
        with redirect_stdout(printed):
            target.listen(file_input=io.StringIO(_messages() + tail))
    return target, printed.getvalue()


def test_the_pools_threads_are_gone_when_the_run_ends(config: dict[str, Any]) -> None:
    before = set(threading.enumerate())
    seen: list[set[str]] = []
    target, printed = _run({**config, "batch_max_records": 2}, seen)
    used = {name.split("_")[0] for names in seen for name in names}
    assert {"upload", "compress"} <= used, "the run used both pools"
    assert _new_run_threads(before) == [], "no worker outlives the run"
    states = [json.loads(line) for line in printed.splitlines()]
    assert states[-1] == {"bookmarks": {"audit_logs": {"n": 5}}}  # state still goes out
    assert target.run.uploads.in_flight == 0


@pytest.mark.parametrize("batch_max_records", [2, 100], ids=["mid-run drain", "last drain"])
def test_a_failed_run_ends_its_threads_too(config: dict[str, Any], batch_max_records: int) -> None:
    before = set(threading.enumerate())
    failing = {**config, "bucket": "no-such-bucket-here", "batch_max_records": batch_max_records}
    with pytest.raises(TargetS3EndorError, match="does not exist"):
        _run(failing, [])
    assert _new_run_threads(before) == []


def test_a_run_stopped_by_bad_input_ends_its_threads_too(config: dict[str, Any]) -> None:
    """Reading stops on a line that is not JSON, after objects went up mid-run."""
    before = set(threading.enumerate())
    seen: list[set[str]] = []
    with pytest.raises(TargetS3EndorError, match="not valid JSON"):
        _run({**config, "batch_max_records": 2}, seen, tail="not json\n")
    assert any(name.startswith("upload") for names in seen for name in names)
    assert _new_run_threads(before) == []
