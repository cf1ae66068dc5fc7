"""Progress lines and per-partition metrics, on a clock the test moves (no sleeps)."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

import pytest
from singer_sdk.metrics import Metric

from tap_endorlabs.metrics import PartitionCounter
from tap_endorlabs.progress import ReadProgress


class FakeClock:
    """A monotonic clock that moves only when told."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def make_progress(clock: FakeClock, interval: float) -> ReadProgress:
    return ReadProgress(
        stream="audit_logs",
        namespace="acme.platform",
        start=datetime(2025, 1, 1, tzinfo=UTC),
        end=datetime(2025, 1, 11, tzinfo=UTC),
        interval=interval,
        clock=clock,
        logger=logging.getLogger("test-progress"),
        position_of=lambda record: record["t"],
    )


def test_a_line_every_interval_with_count_position_share_rate_and_time_left(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = FakeClock()
    progress = make_progress(clock, interval=30)
    caplog.set_level(logging.INFO, logger="test-progress")
    for second in range(1, 91):  # 90 s, one record a second, one day of data every 10 s
        clock.now += 1
        progress.record({"t": f"2025-01-{1 + second // 10:02d}T00:00:00Z"})
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("Progress")]
    assert len(lines) == 3  # at 30, 60 and 90 seconds
    first = lines[0]
    assert first.startswith("Progress audit_logs [acme.platform]: 30 records")
    assert "at 2025-01-04T00:00:00Z" in first
    assert "30.0% of 2025-01-01T00:00:00Z..2025-01-11T00:00:00Z" in first
    assert "1 records/s" in first
    assert "about 1m10s left" in first  # 30 s for 30%: 70 s for the other 70%


def test_interval_zero_turns_progress_off(caplog: pytest.LogCaptureFixture) -> None:
    clock = FakeClock()
    progress = make_progress(clock, interval=0)
    caplog.set_level(logging.INFO, logger="test-progress")
    for _ in range(10):
        clock.now += 1000
        progress.record({"t": "2025-01-05T00:00:00Z"})
    assert not [r for r in caplog.records if r.getMessage().startswith("Progress")]


def test_record_count_is_logged_per_partition(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="singer_sdk.metrics")
    counter = PartitionCounter(Metric.RECORD_COUNT, {"stream": "audit_logs"}, log_interval=1e9)
    with counter:
        for namespace, count in (("acme", 3), ("acme.platform", 2), ("acme.security", 4)):
            counter.with_context({"namespace": namespace})
            for _ in range(count):
                counter.increment()
    points = [
        json.loads(record.getMessage().split("METRIC: ", 1)[1])
        for record in caplog.records
        if "record_count" in record.getMessage()
    ]
    counts = {p["tags"]["context"]["namespace"]: p["value"] for p in points}
    assert counts == {"acme": 3, "acme.platform": 2, "acme.security": 4}
