"""S3 failing under the target, through the fault-injecting proxy (tests/s3_fault_proxy.py).

Transient failures (500, 503 SlowDown, resets, slow answers) are retried and the
export completes whole.  A bucket that keeps failing or refuses (AccessDenied,
NoSuchBucket) stops the target with one clear line, exit 1, and no state for
anything that did not reach S3.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.s3_listing import list_objects
from tests.support.emulator_client import call_json
from tests.support.servers import REPO_ROOT, ServerProcess
from tests.test_pipeline.conftest import target_config
from tests.test_reliability.conftest import (
    START_DATE,
    campaign_tap_config,
    campaign_target_config,
)
from tests.test_reliability.ground import expected_export, exported, missing_from
from tests.test_reliability.harness import Pipeline
from tests.test_target.conftest import (
    TARGET_CMD,
    assert_one_clear_line,
    audit_log,
    lines,
    record,
    run_cli_in_process,
    schema,
    state,
)

RECENT_START = (datetime.now(UTC) - timedelta(days=20)).strftime("%Y-%m-%dT%H:%M:%SZ")


def set_faults(proxy: ServerProcess, faults: list[dict[str, Any]], **extra: Any) -> None:
    """Replace the proxy's fault rules, with a fixed seed for its random picks."""
    call_json(proxy, "POST", "/_proxy/faults", {"faults": faults, "seed": 5, **extra})


def test_transient_s3_failures_are_retried_and_nothing_is_lost(
    tmp_path: Path,
    emulator: ServerProcess,
    s3_proxy: ServerProcess,
    s3_client: Any,
    bucket: str,
) -> None:
    set_faults(
        s3_proxy,
        [
            {"type": "500", "rate": 0.04, "method": "PUT"},
            {"type": "503", "rate": 0.04, "method": "PUT"},
            {"type": "reset", "rate": 0.04, "method": "PUT"},
            {"type": "slow", "rate": 0.03, "method": "PUT"},
        ],
        slow_delay=0.5,
    )
    config = campaign_target_config(
        s3_proxy.url, bucket, max_attempts=8, batch_max_records=1000, batch_max_age_seconds=5
    )
    result = Pipeline(tmp_path, campaign_tap_config(emulator), config).run()

    assert result.target_code == 0, result.target_stderr[-3000:]
    injected = call_json(s3_proxy, "GET", "/_proxy/stats")["injected"]
    assert {"500", "503", "reset"} <= set(injected), injected
    found = exported(s3_client, bucket)
    assert missing_from(expected_export(emulator, START_DATE), found) == []
    assert found.audit_duplicates == 0


@pytest.mark.parametrize(
    ("fault", "says"),
    [
        ("503", "SlowDown"),
        ("500", "InternalError"),
        ("403", "s3:PutObject is denied"),
        ("404", "does not exist"),
    ],
)
def test_s3_that_keeps_failing_stops_the_target_without_state_for_unwritten_data(  # noqa: PLR0917
    fault: str,
    says: str,
    tmp_path: Path,
    emulator: ServerProcess,
    s3_proxy: ServerProcess,
    s3_client: Any,
    bucket: str,
) -> None:
    # Everything goes through except the last stream the tap sends, scan_results.
    set_faults(s3_proxy, [{"type": fault, "rate": 1.0, "method": "PUT", "path": "/scan-results/"}])
    config = campaign_target_config(s3_proxy.url, bucket, max_attempts=2, max_retry_seconds=1)
    # From 20 days back (issue 23): every stream still sends records, half the lines.
    tap = campaign_tap_config(emulator, start_date=RECENT_START)
    result = Pipeline(tmp_path, tap, config).run()

    assert result.target_code == 1
    assert "Traceback" not in result.target_stderr
    last = [line for line in result.target_stderr.splitlines() if line.strip()][-1]
    assert "ERROR" in last and says in last, last
    assert result.states, "the streams written before the failure have state"
    assert "scan_results" not in result.states[-1]["bookmarks"]
    keys = [stored.key for stored in exported(s3_client, bucket).objects]
    assert keys and not [key for key in keys if "/scan-results/" in key]


# Concurrent uploads (issue 23): one drain of several day objects, one PUT held by the proxy.
DAYS = 6


def _day_objects_input() -> str:
    """One audit log for each of ``DAYS`` days (one object each), then a STATE."""
    records = [record("audit_logs", audit_log(day, day=day)) for day in range(1, DAYS + 1)]
    return lines(schema("audit_logs"), *records, state({"done": DAYS}))


def _poll(condition: Any, process: subprocess.Popen[str], what: str) -> None:
    """Wait (up to 60 s) until ``condition()`` holds, failing at once if the target ended."""
    deadline = time.monotonic() + 60
    while not condition():
        assert process.poll() is None, f"the target ended before {what}"
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


def _printed_so_far(process: subprocess.Popen[str]) -> bytes:
    """What the target has written to stdout until now, without waiting for more."""
    assert process.stdout is not None
    descriptor = process.stdout.fileno()
    os.set_blocking(descriptor, False)
    try:
        return os.read(descriptor, 1 << 16)
    except BlockingIOError:
        return b""
    finally:
        os.set_blocking(descriptor, True)


def test_uploads_run_concurrently_and_state_waits_for_the_held_one(
    tmp_path: Path, s3_proxy: ServerProcess, s3_client: Any, bucket: str
) -> None:
    # The first PUT is held until released; the others must complete meanwhile.
    set_faults(s3_proxy, [{"type": "hold", "times": 1, "method": "PUT"}])
    config_path = tmp_path / "config.json"
    config = {**target_config(s3_proxy.url, bucket), "max_concurrent_uploads": 4}
    config_path.write_text(json.dumps(config))
    input_path = tmp_path / "input.singer"
    input_path.write_text(_day_objects_input())
    log_path = tmp_path / "stderr.log"
    with input_path.open() as stdin, log_path.open("w") as log:
        process = subprocess.Popen(
            [*TARGET_CMD, "--config", str(config_path)],
            stdin=stdin,
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
            cwd=REPO_ROOT,
        )
    assert process.stdout is not None
    try:
        stored = lambda: len(list_objects(s3_client, bucket))  # noqa: E731
        _poll(lambda: stored() == DAYS - 1, process, "the other uploads to complete")
        assert call_json(s3_proxy, "GET", "/_proxy/stats")["injected"] == {"hold": 1}
        # Every upload but the held one is in S3, and the target waits: no state yet.
        assert not _printed_so_far(process), "a state went out before the held upload finished"
        call_json(s3_proxy, "POST", "/_proxy/release")
        stdout, _ = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, log_path.read_text()[-2000:]
    assert [json.loads(line) for line in stdout.splitlines()] == [{"done": DAYS}]
    assert len(list_objects(s3_client, bucket)) == DAYS


def test_one_concurrent_upload_failing_stops_the_run_in_one_line_without_state(
    tmp_path: Path, s3_proxy: ServerProcess, s3_client: Any, bucket: str
) -> None:
    # Day 3's object is refused; the others, uploading alongside it, go through.
    set_faults(s3_proxy, [{"type": "403", "rate": 1.0, "method": "PUT", "path": "/2025/01/03/"}])
    config = {**target_config(s3_proxy.url, bucket), "max_concurrent_uploads": 4}
    run = run_cli_in_process(config, _day_objects_input(), tmp=tmp_path)

    assert_one_clear_line(run, "s3:PutObject is denied")
    assert run.states == []
    keys = [stored.key for stored in list_objects(s3_client, bucket)]
    assert keys and not [key for key in keys if "/2025/01/03/" in key]
