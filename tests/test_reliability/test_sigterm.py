"""SIGTERM: the target writes what it has, prints the state for it and says so.

The second test sends the signal while an upload hangs (a slow S3): the SDK's
own handler would drain again from inside the signal handler, print STATE and
exit while the interrupted batch never reached S3.
"""

from __future__ import annotations

import signal
import time
from pathlib import Path
from typing import Any

from tests.s3_listing import list_objects
from tests.support.emulator_client import call_json
from tests.support.servers import ServerProcess
from tests.test_pipeline.conftest import target_config
from tests.test_reliability.singer_lines import (
    AUDIT_SCHEMA,
    TargetProcess,
    audit_record,
    lines,
    state_message,
)

STOP_LINE = "Stopped by SIGTERM: every record received is in S3 and its state was written"


def wait_for_slow_upload(target: TargetProcess, proxy: ServerProcess, timeout: float = 60) -> None:
    """Wait until the proxy holds the target's PUT in a "slow" fault (the target still runs)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if call_json(proxy, "GET", "/_proxy/stats")["injected"].get("slow", 0) >= 1:
            return
        assert target.process.poll() is None, target.stderr()[-2000:]
        time.sleep(0.01)
    raise AssertionError(f"no upload reached the slow proxy: {target.stderr()[-2000:]}")


def written_uuids(s3_client: Any, bucket: str) -> list[str]:
    return [r["uuid"] for stored in list_objects(s3_client, bucket) for r in stored.records]


def last_log_line(stderr: str) -> str:
    return [line for line in stderr.splitlines() if line.strip()][-1]


def test_sigterm_while_waiting_for_input_writes_everything_and_its_state(
    tmp_path: Path, s3_endpoint: str, s3_client: Any, bucket: str
) -> None:
    config = {**target_config(s3_endpoint, bucket), "batch_max_records": 100}
    target = TargetProcess(config, tmp_path)
    target.send(lines(AUDIT_SCHEMA, *(audit_record(n) for n in range(250)), state_message(250)))
    target.send(lines(*(audit_record(n) for n in range(250, 280)), state_message(280)))
    target.wait_idle()
    target.process.send_signal(signal.SIGTERM)
    code, states, stderr = target.finish()

    assert code == 128 + signal.SIGTERM
    assert STOP_LINE in last_log_line(stderr)
    assert "Traceback" not in stderr
    assert states[-1] == state_message(280)["value"]
    assert sorted(written_uuids(s3_client, bucket)) == [f"audit-{n:06d}" for n in range(280)]


def test_sigterm_during_a_slow_upload_waits_for_it_before_printing_state(
    tmp_path: Path, s3_proxy: ServerProcess, s3_client: Any, bucket: str
) -> None:
    call_json(
        s3_proxy,
        "POST",
        "/_proxy/faults",
        {"faults": [{"type": "slow", "times": 1, "method": "PUT"}], "slow_delay": 2},
    )
    config = {**target_config(s3_proxy.url, bucket), "batch_max_records": 100}
    target = TargetProcess(config, tmp_path)
    # 99 records, a state covering them, then the 100th fills the batch: its
    # upload hangs in the proxy while the signal arrives.
    target.send(lines(AUDIT_SCHEMA, *(audit_record(n) for n in range(99)), state_message(99)))
    target.send(lines(audit_record(99)))
    wait_for_slow_upload(target, s3_proxy)
    target.process.send_signal(signal.SIGTERM)
    code, states, stderr = target.finish()

    assert code == 128 + signal.SIGTERM, stderr[-2000:]
    assert STOP_LINE in last_log_line(stderr)
    assert states == [state_message(99)["value"]]
    assert sorted(written_uuids(s3_client, bucket)) == [f"audit-{n:06d}" for n in range(100)]


def test_sigterm_when_s3_refuses_the_last_batch_exits_1_without_state(
    tmp_path: Path, s3_proxy: ServerProcess, s3_client: Any, bucket: str
) -> None:
    config = {**target_config(s3_proxy.url, bucket), "batch_max_records": 1000}
    target = TargetProcess(config, tmp_path)
    target.send(lines(AUDIT_SCHEMA, *(audit_record(n) for n in range(10)), state_message(10)))
    target.wait_idle()
    call_json(s3_proxy, "POST", "/_proxy/faults", {"faults": [{"type": "403", "rate": 1.0}]})
    target.process.send_signal(signal.SIGTERM)
    code, states, stderr = target.finish()

    assert code == 1
    assert states == []
    line = last_log_line(stderr)
    assert "Stopped by SIGTERM" in line
    assert "s3:PutObject is denied" in line
    assert "no state was written" in line
    assert "Traceback" not in stderr
    assert written_uuids(s3_client, bucket) == []
