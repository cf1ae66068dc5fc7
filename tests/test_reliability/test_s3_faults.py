"""S3 failing under the target, through the fault-injecting proxy (tests/s3_fault_proxy.py).

Transient failures (500, 503 SlowDown, resets, slow answers) are retried and the
export completes whole.  A bucket that keeps failing or refuses (AccessDenied,
NoSuchBucket) stops the target with one clear line, exit 1, and no state for
anything that did not reach S3.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.support.emulator_client import call_json
from tests.support.servers import ServerProcess
from tests.test_reliability.conftest import (
    START_DATE,
    campaign_tap_config,
    campaign_target_config,
)
from tests.test_reliability.ground import expected_export, exported, missing_from
from tests.test_reliability.harness import Pipeline


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
    result = Pipeline(tmp_path, campaign_tap_config(emulator), config).run()

    assert result.target_code == 1
    assert "Traceback" not in result.target_stderr
    last = [line for line in result.target_stderr.splitlines() if line.strip()][-1]
    assert "ERROR" in last and says in last, last
    assert result.states, "the streams written before the failure have state"
    assert "scan_results" not in result.states[-1]["bookmarks"]
    keys = [stored.key for stored in exported(s3_client, bucket).objects]
    assert keys and not [key for key in keys if "/scan-results/" in key]
