"""Every window checked against the API's count, over a fake API that pages badly.

The invariant (issue 19): whatever the pages do (rows left out once, pages
that overlap, rows never listed), the reader emits every object once, in
order, or raises ``IncompleteWindowError`` before emitting anything of the
window that is short, so nothing emitted lies at or after the gap.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.utils import format_datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tap_endorlabs.api_clock import ApiClock
from tap_endorlabs.errors import IncompleteWindowError
from tap_endorlabs.pagination import count_of
from tap_endorlabs.timestamps import floor_to_second, parse_timestamp
from tap_endorlabs.window_reader import (
    SETTLE_MARGIN,
    Reconciliation,
    WindowQuery,
    read_windows,
)
from tests.test_tap.test_window_reader import NOW, START, expected, in_time_order, obj, reader


def at(o: dict[str, Any]) -> datetime:
    return parse_timestamp(o["meta"]["create_time"])


@dataclass
class BadPagingApi:
    """Serves windows in pages that may leave rows out or repeat them; counts truthfully."""

    objects: list[dict[str, Any]]
    page_size: int = 3
    #: Left out of the first page they would appear on, once each.
    drop_once: set[str] = field(default_factory=set)
    #: Never listed, always counted.
    hidden: set[str] = field(default_factory=set)
    #: Each page repeats this many rows of the one before.
    overlap: int = 0
    #: Every other page is empty (the cursor moves on all the same).
    empty_pages: bool = False
    calls: list[WindowQuery] = field(default_factory=list)
    counts: list[WindowQuery] = field(default_factory=list)

    def matching(self, window: WindowQuery) -> list[dict[str, Any]]:
        lo = floor_to_second(window.lo)
        hi = floor_to_second(window.hi) if window.hi is not None else None
        chosen = [o for o in self.objects if lo <= at(o) and (hi is None or at(o) < hi)]
        return sorted(chosen, key=lambda o: (o["meta"]["create_time"], o["uuid"]))

    def count(self, window: WindowQuery) -> int:
        self.counts.append(window)
        return len(self.matching(window))

    def __call__(self, window: WindowQuery) -> Iterator[list[dict[str, Any]]]:
        self.calls.append(window)
        chosen = self.matching(window)
        size = window.page_size or self.page_size
        step = max(1, size - self.overlap)
        for n, begin in enumerate(range(0, len(chosen), step)):
            if self.empty_pages and n % 2 == 0:
                yield []
            page = []
            for o in chosen[begin : begin + size]:
                if o["uuid"] in self.hidden:
                    continue
                if o["uuid"] in self.drop_once:
                    self.drop_once.discard(o["uuid"])
                    continue
                page.append(o)
            yield page


def records(items: list[Any]) -> list[dict[str, Any]]:
    return [item for item in items if not isinstance(item, Reconciliation)]


def checks(items: list[Any]) -> list[Reconciliation]:
    return [item for item in items if isinstance(item, Reconciliation)]


offsets = st.integers(min_value=0, max_value=18 * 86_400)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seconds=st.lists(offsets, max_size=40),
    dropped=st.sets(st.integers(min_value=0, max_value=39), max_size=5),
    overlap=st.integers(min_value=0, max_value=2),
    empty_pages=st.booleans(),
    ahead=st.sampled_from([1, 4]),
)
def test_every_object_once_in_order_whatever_the_pages_do(
    seconds: list[int], dropped: set[int], overlap: int, empty_pages: bool, ahead: int
) -> None:
    objects = [obj(f"u{n:03}", START + timedelta(seconds=s)) for n, s in enumerate(seconds)]
    api = BadPagingApi(
        objects,
        drop_once={f"u{n:03}" for n in dropped},
        overlap=overlap,
        empty_pages=empty_pages,
    )
    items = list(read_windows(api, START, reader(), count=api.count, ahead=ahead))
    out = records(items)
    uuids = [o["uuid"] for o in out]
    assert len(uuids) == len(set(uuids)), "an object came out twice"
    assert sorted(uuids) == sorted(expected(objects))
    assert in_time_order(out)
    for check in checks(items):
        assert check.read_count >= check.api_count
        if check.check == "exact":
            assert check.read_count == check.api_count


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seconds=st.lists(offsets, min_size=1, max_size=30),
    pick=st.integers(min_value=0, max_value=29),
    ahead=st.sampled_from([1, 4]),
)
def test_a_row_never_listed_stops_the_read_before_its_window(
    seconds: list[int], pick: int, ahead: int
) -> None:
    objects = [obj(f"u{n:03}", START + timedelta(seconds=s)) for n, s in enumerate(seconds)]
    gone = objects[pick % len(objects)]
    api = BadPagingApi(objects, hidden={gone["uuid"]})
    out: list[Any] = []
    with pytest.raises(IncompleteWindowError) as failure:
        out.extend(
            read_windows(api, START, reader(name="audit_logs"), count=api.count, ahead=ahead)
        )
    line = str(failure.value)
    assert "\n" not in line
    assert "audit_logs" in line
    assert "the API counts" in line
    # Nothing at or after the gap went out: a bookmark can never pass it.
    assert all(at(o) < at(gone) for o in records(out))
    assert all(c.hi is not None and c.hi <= at(gone) + timedelta(seconds=1) for c in checks(out))


def test_each_check_follows_its_windows_records_and_the_ranges_meet() -> None:
    objects = [obj(f"u{n:03}", START + timedelta(hours=5 * n, microseconds=n)) for n in range(80)]
    api = BadPagingApi(objects)
    items = list(read_windows(api, START, reader(), count=api.count))
    done = checks(items)
    assert done
    for before, after in itertools.pairwise(done):
        assert before.hi is not None
        assert floor_to_second(before.hi) == floor_to_second(after.lo)
    # Every record comes before the check of the window it lies in.
    position = {id(item): n for n, item in enumerate(items)}
    for record in records(items):
        window = next(c for c in done if c.lo <= at(record) and (c.hi is None or at(record) < c.hi))
        assert position[id(record)] < position[id(window)]
    assert sum(c.read_count for c in done) == len(objects)


def test_the_open_window_is_checked_at_least() -> None:
    objects = [obj("recent", NOW - timedelta(minutes=1)), obj("old", START)]
    api = BadPagingApi(objects)
    done = checks(list(read_windows(api, START, reader(), count=api.count)))
    last = done[-1]
    assert last.check == "at_least"
    assert last.hi is None or last.hi > NOW - SETTLE_MARGIN
    assert all(c.check == "exact" for c in done if c.hi is not None and c.hi <= NOW - SETTLE_MARGIN)


def test_a_row_missing_once_is_found_by_another_route() -> None:
    objects = [obj(f"u{n:03}", START + timedelta(minutes=n)) for n in range(20)]
    api = BadPagingApi(objects, drop_once={"u007"})
    out = records(list(read_windows(api, START, reader(), count=api.count)))
    assert [o["uuid"] for o in out] == [o["uuid"] for o in objects]
    assert any(call.unsorted for call in api.calls), "the window was not re-read by page_id"


class Lines:
    """A logger that keeps its warning lines."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def warning(self, text: str, *args: Any) -> None:
        self.lines.append(text % args)


@settings(max_examples=50, deadline=None)
@given(offset_minutes=st.integers(min_value=-5 * 1440, max_value=5 * 1440))
def test_the_api_clock_follows_its_date_and_says_a_skew_past_the_seam_margin_once(
    offset_minutes: int,
) -> None:
    local = NOW
    logger = Lines()
    clock = ApiClock(logger, local=lambda: local)
    api_time = local + timedelta(minutes=offset_minutes)
    for _ in range(3):
        clock.observe(format_datetime(api_time, usegmt=True))
    assert abs(clock.now() - api_time) <= timedelta(seconds=1)
    far = abs(offset_minutes) > 24 * 60
    assert len(logger.lines) == (1 if far else 0)
    if far:
        assert ("behind" in logger.lines[0]) == (offset_minutes < 0)
    # An unreadable Date never moves it.
    clock.observe("Tuesday, the day after yesterday")
    assert abs(clock.now() - api_time) <= timedelta(seconds=1)


def test_a_count_answer_is_read_as_proto3_writes_it() -> None:
    assert count_of({"count_response": {"count": 12}}) == 12
    assert count_of({"count_response": {"count": "12"}}) == 12
    assert count_of({"count_response": {}}) == 0  # proto3 leaves a zero out
    assert count_of({}) == 0
    assert count_of({"list": {"objects": [{"uuid": "a"}]}}) is None  # not a count at all
