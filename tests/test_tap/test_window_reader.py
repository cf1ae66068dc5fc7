"""The window reader's rules, over a fake page fetcher: no server, no HTTP, milliseconds.

The invariant: whatever the windows, splits, stores and paging mode, every
object from ``start`` on comes out once, in ascending time order, and nothing
before ``start`` or already emitted at it comes out.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tap_endorlabs.errors import (
    DeadlineExceededError,
    FatalTapError,
    RepeatedEarlyDeadlineError,
    SortedPagingUnavailableError,
)
from tap_endorlabs.timestamps import floor_to_second, format_timestamp, parse_timestamp
from tap_endorlabs.window_reader import (
    SEAM_BUFFER_PAGES,
    PagingMode,
    ReaderSettings,
    WindowQuery,
    read_windows,
)

START = datetime(2026, 1, 1, tzinfo=UTC)
NOW = START + timedelta(days=20)


def obj(uid: str, at: datetime) -> dict[str, Any]:
    return {"uuid": uid, "meta": {"create_time": format_timestamp(at)}}


@dataclass
class FakeApi:
    """Serves ``objects`` per store as the API would: whole-second lower bounds, pages."""

    stores: dict[str, list[dict[str, Any]]]
    page_size: int = 3
    #: Windows longer than this answer one page, then "deadline exceeded".
    deadline_over: timedelta | None = None
    #: Sorted queries answer one page, then cannot say where the next starts.
    no_sorted_paging: bool = False
    calls: list[WindowQuery] = field(default_factory=list)

    def __call__(self, window: WindowQuery) -> Iterator[list[dict[str, Any]]]:
        self.calls.append(window)
        lo = floor_to_second(window.lo)
        chosen = [
            o
            for o in self.stores[window.source]
            if lo <= parse_timestamp(o["meta"]["create_time"])
            and (window.hi is None or parse_timestamp(o["meta"]["create_time"]) < window.hi)
        ]
        if window.unsorted:
            random.Random(len(self.calls)).shuffle(chosen)
        else:
            chosen.sort(key=lambda o: o["meta"]["create_time"])
        span = (window.hi or NOW) - window.lo
        for n, begin in enumerate(range(0, len(chosen), self.page_size)):
            if n == 1 and self.deadline_over is not None and span > self.deadline_over:
                raise DeadlineExceededError("deadline exceeded")
            if n == 1 and self.no_sorted_paging and not window.unsorted:
                raise SortedPagingUnavailableError("full page without a token")
            yield chosen[begin : begin + self.page_size]


def reader(**overrides: Any) -> ReaderSettings:
    values: dict[str, Any] = {
        "time_field": "meta.create_time",
        "window_size": timedelta(days=2),
        "page_size": 3,
        "now": lambda: NOW,
        "sleep": lambda seconds: None,
    }
    values.update(overrides)
    return ReaderSettings(**values)


def expected(objects: list[dict[str, Any]], start: datetime = START) -> list[str]:
    """uuids from ``start`` on, in time order (ties in any order)."""
    return [o["uuid"] for o in objects if parse_timestamp(o["meta"]["create_time"]) >= start]


def in_time_order(out: list[dict[str, Any]]) -> bool:
    times = [o["meta"]["create_time"] for o in out]
    return times == sorted(times)


moments = st.integers(min_value=-86_400, max_value=19 * 86_400 * 1_000_000 // 1_000_000).map(
    lambda s: START + timedelta(seconds=s)
)
sub_second = st.integers(min_value=0, max_value=999_999).map(lambda us: timedelta(microseconds=us))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    times=st.lists(st.tuples(moments, sub_second), max_size=40),
    deadline_hours=st.one_of(st.none(), st.integers(min_value=1, max_value=72)),
    no_sorted_paging=st.booleans(),
)
def test_every_object_once_in_order_whatever_splits_and_paging(
    times: list[tuple[datetime, timedelta]], deadline_hours: int | None, no_sorted_paging: bool
) -> None:
    objects = [obj(f"u{n:03}", at + frac) for n, (at, frac) in enumerate(times)]
    api = FakeApi(
        {"active": objects},
        deadline_over=None if deadline_hours is None else timedelta(hours=deadline_hours),
        no_sorted_paging=no_sorted_paging,
    )
    out = list(read_windows(api, START, reader()))
    uuids = [o["uuid"] for o in out]
    assert len(uuids) == len(set(uuids)), "an object came out twice"
    assert sorted(uuids) == sorted(expected(objects))
    assert in_time_order(out)


def test_a_deadline_splits_the_rest_of_the_window_without_gap_or_duplicate() -> None:
    objects = [obj(f"u{n:03}", START + timedelta(minutes=7 * n)) for n in range(200)]
    api = FakeApi({"active": objects}, deadline_over=timedelta(hours=3))
    out = [o["uuid"] for o in read_windows(api, START, reader())]
    assert out == expected(objects)
    spans = [(w.hi or NOW) - w.lo for w in api.calls]
    assert min(spans) <= timedelta(hours=3), "the window was never halved"


def test_objects_sharing_the_split_instant_are_emitted_once() -> None:
    same = START + timedelta(hours=1, microseconds=5)
    objects = [obj(f"u{n:03}", same) for n in range(7)]
    objects.append(obj("later", START + timedelta(hours=30)))
    api = FakeApi({"active": objects}, deadline_over=timedelta(hours=2))
    out = [o["uuid"] for o in read_windows(api, START, reader())]
    assert sorted(out) == sorted(o["uuid"] for o in objects)
    assert len(out) == len(set(out))


def test_uuids_already_emitted_at_the_bookmark_are_skipped() -> None:
    objects = [obj("a", START), obj("b", START), obj("c", START + timedelta(seconds=1))]
    api = FakeApi({"active": objects})
    out = [o["uuid"] for o in read_windows(api, START, reader(), emitted_at_start={"a"})]
    assert out == ["b", "c"]


def test_the_whole_second_lower_bound_never_brings_back_earlier_objects() -> None:
    start = START + timedelta(microseconds=500_000)
    objects = [obj("before", START + timedelta(microseconds=100)), obj("after", start)]
    out = [o["uuid"] for o in read_windows(FakeApi({"active": objects}), start, reader())]
    assert out == ["after"]


def test_the_seam_reads_both_stores_and_drops_the_duplicates() -> None:
    active = [obj(f"a{n}", START + timedelta(hours=n)) for n in range(0, 100, 3)]
    archive = [obj(f"r{n}", START + timedelta(hours=n)) for n in range(1, 100, 3)]
    moving = obj("moving", START + timedelta(hours=50, minutes=1))
    api = FakeApi({"active": [*active, moving], "archive": [*archive, moving]})
    seam_lo, seam_hi = START + timedelta(hours=40), START + timedelta(hours=60)

    def sources(lo: datetime, hi: datetime | None) -> tuple[str, ...]:
        if hi is not None and hi <= seam_lo:
            return ("archive",)
        if lo >= seam_hi:
            return ("active",)
        return ("active", "archive")

    settings = reader(sources=sources, edges=lambda: (seam_lo, seam_hi))
    out = list(read_windows(api, START, settings))
    uuids = [o["uuid"] for o in out]

    def at(o: dict[str, Any]) -> datetime:
        return parse_timestamp(o["meta"]["create_time"])

    # The archive up to the seam's end, the active store from its start.
    want = {o["uuid"] for o in [*archive, moving] if at(o) < seam_hi}
    want |= {o["uuid"] for o in [*active, moving] if at(o) >= seam_lo}
    assert sorted(uuids) == sorted(want)
    assert uuids.count("moving") == 1
    assert in_time_order(out)
    assert {w.source for w in api.calls if w.lo >= seam_lo and w.lo < seam_hi} == {
        "active",
        "archive",
    }


def test_a_held_window_over_its_buffer_is_halved_before_anything_is_emitted() -> None:
    dense = [
        obj(f"d{n:04}", START + timedelta(seconds=n)) for n in range(SEAM_BUFFER_PAGES * 3 + 10)
    ]
    api = FakeApi({"active": dense, "archive": []})
    settings = reader(sources=lambda lo, hi: ("active", "archive"))
    out = [o["uuid"] for o in read_windows(api, START, settings)]
    assert out == [o["uuid"] for o in dense]
    assert any((w.hi or NOW) - w.lo < timedelta(days=2) for w in api.calls)


def test_after_a_sorted_page_without_token_every_later_window_is_read_unsorted() -> None:
    objects = [obj(f"u{n:03}", START + timedelta(hours=n)) for n in range(120)]
    api = FakeApi({"active": objects}, no_sorted_paging=True)
    mode = PagingMode()
    out = [o["uuid"] for o in read_windows(api, START, reader(), mode=mode)]
    assert out == expected(objects)
    assert mode.order_on_client
    first_unsorted = next(i for i, w in enumerate(api.calls) if w.unsorted)
    assert all(w.unsorted for w in api.calls[first_unsorted:])


@pytest.mark.parametrize(
    ("failure", "grows_back"),
    [(DeadlineExceededError, False), (RepeatedEarlyDeadlineError, True)],
)
def test_only_a_real_deadline_holds_the_next_windows_at_the_halved_size(
    failure: type[DeadlineExceededError], grows_back: bool
) -> None:
    """Two early 504s halve a window but teach no ceiling: the next good window grows back."""
    spans: list[timedelta] = []

    def fetch(window: WindowQuery) -> Iterator[list[dict[str, Any]]]:
        spans.append((window.hi or NOW) - window.lo)
        if len(spans) == 1:
            raise failure("deadline exceeded")
        yield []

    list(read_windows(fetch, START, reader(window_size=timedelta(days=8))))
    assert spans[:2] == [timedelta(days=8), timedelta(days=4)]
    assert spans[2] == (timedelta(days=8) if grows_back else timedelta(days=4))


def test_a_minimum_window_that_keeps_timing_out_fails_with_one_clear_line() -> None:
    def always_late(window: WindowQuery) -> Iterator[list[dict[str, Any]]]:
        raise DeadlineExceededError("deadline exceeded")
        yield []  # pragma: no cover

    waits: list[float] = []

    def sleep(seconds: float) -> None:  # the clock moves only by the waits
        waits.append(seconds)

    settings = reader(
        name="audit_logs", sleep=sleep, clock=lambda: sum(waits), retry_budget_seconds=5
    )
    with pytest.raises(FatalTapError, match="raise request_timeout") as failure:
        list(read_windows(always_late, START, settings))
    assert "audit_logs" in str(failure.value)
    assert "(retry_budget_seconds: 5)" in str(failure.value)
    assert waits, "a stuck minimum window was retried without a pause"
    # Tried again for the budget in time, each wait at most a tenth of it.
    assert 5 <= sum(waits) < 5 + 0.5
    assert max(waits) <= 0.5


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    times=st.lists(st.tuples(moments, sub_second), max_size=40),
    deadline_hours=st.one_of(st.none(), st.integers(min_value=1, max_value=72)),
    no_sorted_paging=st.booleans(),
    ahead=st.sampled_from([2, 4, 16]),
)
def test_reading_ahead_emits_exactly_what_one_at_a_time_does(
    times: list[tuple[datetime, timedelta]],
    deadline_hours: int | None,
    no_sorted_paging: bool,
    ahead: int,
) -> None:
    objects = [obj(f"u{n:03}", at + frac) for n, (at, frac) in enumerate(times)]

    def run(ahead: int) -> list[dict[str, Any]]:
        api = FakeApi(
            {"active": objects},
            deadline_over=None if deadline_hours is None else timedelta(hours=deadline_hours),
            no_sorted_paging=no_sorted_paging,
        )
        return list(read_windows(api, START, reader(), ahead=ahead))

    one = run(1)
    assert run(ahead) == one
    assert sorted(o["uuid"] for o in one) == sorted(expected(objects))


def test_windows_are_read_in_parallel_and_handed_out_in_order() -> None:
    # Each window's reader waits until every window of the batch has started:
    # only parallel readers get past it (one at a time would time out).

    ahead = 4
    started = threading.Barrier(ahead, timeout=10)
    # Sparse (two a day): no window is cut for being dense.
    objects = [obj(f"u{n:03}", START + timedelta(hours=12 * n)) for n in range(36)]
    api = FakeApi({"active": objects})

    def fetch(window: WindowQuery) -> Iterator[list[dict[str, Any]]]:
        if window.lo < START + timedelta(days=8):  # the first four 2-day windows
            started.wait()
        yield from api(window)

    out = [o["uuid"] for o in read_windows(fetch, START, reader(), ahead=ahead)]
    assert out == [o["uuid"] for o in objects]


def test_a_reader_stopped_early_leaves_no_window_reader_blocked() -> None:

    objects = [obj(f"u{n:04}", START + timedelta(minutes=10 * n)) for n in range(2000)]
    reading = read_windows(FakeApi({"active": objects}), START, reader(), ahead=4)
    first = [next(reading) for _ in range(5)]
    assert [o["uuid"] for o in first] == [o["uuid"] for o in objects[:5]]
    reading.close()  # as when SIGTERM stops the stream between two records
    for thread in threading.enumerate():
        if thread.name.startswith("window-reader"):
            thread.join(timeout=10)
            assert not thread.is_alive(), "a window reader kept running after the stop"


def test_reading_ahead_cuts_a_dense_window_into_windows_read_at_once() -> None:
    objects = [obj(f"u{n:04}", START + timedelta(minutes=5 * n)) for n in range(600)]
    one, many = FakeApi({"active": objects}), FakeApi({"active": objects})
    assert list(read_windows(many, START, reader(), ahead=4)) == list(
        read_windows(one, START, reader())
    )
    # 288 objects a day, 3 a page: the first 2-day window is cut after a page and
    # the next windows hold a few pages each.
    shortest = min((w.hi or NOW) - w.lo for w in many.calls)
    assert shortest < timedelta(hours=2), "the windows after a dense one were not narrowed"
    assert len(many.calls) > len(one.calls)


def test_a_burst_at_one_instant_is_read_once_when_reading_ahead() -> None:
    same = START + timedelta(hours=3)
    objects = [obj(f"u{n:03}", same) for n in range(30)] + [obj("next", same + timedelta(1))]
    out = [o["uuid"] for o in read_windows(FakeApi({"active": objects}), START, reader(), ahead=4)]
    assert sorted(out) == sorted(o["uuid"] for o in objects)


def test_the_ceiling_never_outgrows_the_largest_window() -> None:
    from tap_endorlabs.windows import WindowPlanner

    planner = WindowPlanner(start=START, end=None, size=timedelta(hours=1), now=NOW)
    planner.split(START)
    for _ in range(400):  # a long run of good windows after one deadline
        planner.done(planner.cursor + timedelta(seconds=1), cheap=True)
    assert planner.ceiling is not None
    assert planner.ceiling <= planner.max_size
