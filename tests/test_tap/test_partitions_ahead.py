"""Namespaces read ahead: the plan made before a partition begins is the start the SDK gives it.

``planned_start`` reads a partition's state as it stands, without writing it;
when the partition's turn comes the SDK writes its starting value and the
stream computes ``start_time``.  The two must agree for every bookmark and
``start_date`` (else read-ahead is wasted: the partition is read again).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tap_endorlabs.client import EndorStream
from tap_endorlabs.partitions_ahead import PartitionPlan, PartitionsAhead, batched, share_of
from tap_endorlabs.tap import TapEndorLabs
from tap_endorlabs.timestamps import format_timestamp
from tests.test_tap.tap_runner import tap_config

MOMENTS = st.datetimes(
    min_value=datetime(2020, 1, 1), max_value=datetime(2027, 1, 1), timezones=st.just(UTC)
)
CONTEXT = {"namespace": "acme.platform"}


def _tap(start_date: str | None) -> TapEndorLabs:
    state = {"bookmarks": {name: {"partitions": []} for name in STREAM_NAMES}}
    config = tap_config("http://127.0.0.1:9", include_child_namespaces=True, start_date=start_date)
    return TapEndorLabs(config=config, state=state, parse_env_config=False)


STREAM_NAMES = (
    "audit_logs",
    "authentication_logs",
    "projects",
    "scan_results",
    "findings",
    "finding_logs",
)


@settings(max_examples=40, deadline=None)
@given(
    start_date=st.none() | MOMENTS.map(lambda d: d.strftime("%Y-%m-%dT%H:%M:%SZ")),
    bookmark=st.none() | MOMENTS.map(format_timestamp),
    same_key=st.booleans(),
)
def test_the_planned_start_is_the_start_the_partition_gets(
    start_date: str | None, bookmark: str | None, same_key: bool
) -> None:
    tap = _tap(start_date)
    for stream in tap.streams.values():
        if not isinstance(stream, EndorStream):
            continue  # reconciliations: written by the other streams, never partitioned
        if bookmark is not None:
            key = stream.replication_key if same_key else "something.else"
            state = {"replication_key": key, "replication_key_value": bookmark}
            tap.state["bookmarks"][stream.name]["partitions"] = [{"context": CONTEXT, **state}]
        before = repr(tap.state)
        planned = stream.planned_start(stream.partition_state_as_is(CONTEXT))
        assert repr(tap.state) == before, "planning wrote into the state"
        stream._write_starting_replication_value(CONTEXT)
        assert planned == stream.start_time(CONTEXT), stream.name


def test_a_partition_absent_from_the_state_is_not_created_by_planning() -> None:
    tap = _tap("2025-01-01T00:00:00Z")
    stream = tap.streams["audit_logs"]
    assert isinstance(stream, EndorStream)
    assert stream.partition_state_as_is({"namespace": "acme.new"}) == {}
    assert tap.state["bookmarks"]["audit_logs"]["partitions"] == []


def test_batches_hand_on_what_was_read_before_a_failure() -> None:
    def items() -> Any:
        yield from range(5)
        raise RuntimeError("boom")

    out: list[list[int]] = []
    with pytest.raises(RuntimeError, match="boom"):
        out.extend(batched(items(), 2))
    assert out == [[0, 1], [2, 3], [4]]


@pytest.mark.parametrize("total", [1, 2, 4, 8, 16])
def test_namespaces_read_at_once_share_about_twice_the_setting(total: int) -> None:
    for partitions in range(1, 40):
        share = share_of(total, partitions)
        assert 1 <= share <= total
        at_once = min(total, partitions)
        assert share * at_once <= 2 * total + at_once
    assert share_of(total, 1) == total


def test_a_plan_that_does_not_match_is_not_used() -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    plans = [PartitionPlan({"namespace": n}, start, frozenset()) for n in ("a", "b")]
    ahead = PartitionsAhead(iter(plans), lambda plan: [plan.context["namespace"]], 2)
    items = ahead.take(plans[0])
    assert items is not None
    assert list(items) == ["a"]
    assert ahead.take(PartitionPlan({"namespace": "b"}, start, frozenset({"x"}))) is None
    ahead.close()
