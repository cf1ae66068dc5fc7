"""``read_ahead.in_order``: work started ahead on threads, handed out as a plain loop would.

The invariant: whatever ``ahead`` and the items (their chunks, a failing
item, a failing source), the consumer sees the same sequence of items, chunks
and the same failure at the same place as with ``ahead`` = 1 (no threads).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tap_endorlabs.read_ahead import in_order


class Boom(Exception):
    pass


def events(
    items: list[list[int]], fail_item: int | None, fail_source: int | None, ahead: int
) -> list[object]:
    """What a consumer of ``in_order`` meets, in order (chunks, then the error if any)."""

    def source() -> Iterator[int]:
        for index in range(len(items)):
            if index == fail_source:
                raise Boom(f"source {index}")
            yield index

    def produce(index: int) -> Iterator[int]:
        for position, chunk in enumerate(items[index]):
            if index == fail_item and position == len(items[index]) // 2:
                raise Boom(f"item {index}")
            yield chunk

    seen: list[object] = []
    try:
        for index, chunks in in_order(source(), produce, ahead, buffer=1):
            seen.append(("item", index))
            seen.extend(chunks)
    except Boom as exc:
        seen.append(str(exc))
    return seen


@settings(max_examples=60, deadline=None)
@given(
    items=st.lists(st.lists(st.integers(), max_size=6), max_size=12),
    fail_item=st.none() | st.integers(min_value=0, max_value=12),
    fail_source=st.none() | st.integers(min_value=0, max_value=12),
    ahead=st.integers(min_value=2, max_value=8),
)
def test_read_ahead_gives_what_one_at_a_time_gives(
    items: list[list[int]], fail_item: int | None, fail_source: int | None, ahead: int
) -> None:
    one = events(items, fail_item, fail_source, 1)
    assert events(items, fail_item, fail_source, ahead) == one


def test_items_are_read_ahead_in_parallel() -> None:
    """Four items, each waiting until all four started: only concurrent work gets through."""
    started = threading.Barrier(4, timeout=10)

    def produce(index: int) -> Iterator[int]:
        started.wait()
        yield index

    out = [chunk for _, chunks in in_order(range(4), produce, 4) for chunk in chunks]
    assert out == [0, 1, 2, 3]


def test_a_consumer_that_stops_ends_the_workers() -> None:
    """Closing the consumer drops the work started ahead; no worker is left blocked."""
    closed = [threading.Event() for _ in range(6)]

    def produce(index: int) -> Iterator[int]:
        try:
            yield from range(1000)
        finally:
            closed[index].set()

    reading = in_order(range(6), produce, 3, buffer=1)
    _, chunks = next(reading)
    assert next(chunks) == 0
    reading.close()
    started = [event for event in closed[:3]]
    assert all(event.wait(10) for event in started)


@pytest.mark.parametrize("ahead", [1, 4])
def test_unread_chunks_are_dropped_when_the_next_item_is_asked_for(ahead: int) -> None:
    out = [
        (index, next(iter(chunks))) for index, chunks in in_order(range(3), lambda i: [i, 9], ahead)
    ]
    assert out == [(0, 0), (1, 1), (2, 2)]
