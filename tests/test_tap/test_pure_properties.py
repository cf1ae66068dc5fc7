"""Properties of the tap's pure functions over generated inputs: timestamps, headers, paging."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tap_endorlabs.errors import PagingLoopError, SortedPagingUnavailableError
from tap_endorlabs.headers import http_date, retry_after_seconds, server_now
from tap_endorlabs.pagination import Cursor, CursorGuard, ListQuery, next_cursor
from tap_endorlabs.timestamps import (
    filter_timestamp,
    format_timestamp,
    normalize_or,
    normalize_timestamp,
    parse_timestamp,
)

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
CAP = 120.0

# An instant in nanoseconds since the epoch, and how the API may write it.
nanos = st.integers(min_value=0, max_value=(4102444800 * 10**9) - 1)  # 1970 .. 2100
widths = st.sampled_from([0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
offsets = st.sampled_from([0, 60, 330, -480, -720, 840, 345])


def render(ns: int, width: int, offset_min: int) -> str:
    """``ns`` as RFC 3339 with ``width`` digits (cut) and an offset (``Z`` for 0)."""
    seconds, fraction = divmod(ns, 10**9)
    local = datetime.fromtimestamp(seconds, UTC) + timedelta(minutes=offset_min)
    digits = f"{fraction:09d}"[:width]
    zone = "Z"
    if offset_min:
        sign = "+" if offset_min > 0 else "-"
        zone = f"{sign}{abs(offset_min) // 60:02d}:{abs(offset_min) % 60:02d}"
    return local.strftime("%Y-%m-%dT%H:%M:%S") + (f".{digits}" if width else "") + zone


def instant(ns: int, width: int) -> int:
    """The nanosecond instant a ``width``-digit rendering names."""
    cut = 10 ** (9 - width)
    return ns // cut * cut


@given(nanos, widths, offsets)
def test_normalized_is_the_instant_cut_to_the_microsecond(ns: int, width: int, off: int) -> None:
    text = render(ns, width, off)
    normal = normalize_timestamp(text)
    assert len(normal) == 27 and normal.endswith("Z")
    assert normalize_timestamp(normal) == normal
    micros = instant(ns, width) // 1000
    expected = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=micros)
    assert parse_timestamp(normal) == expected


times = st.tuples(nanos, widths, offsets)


@given(times, times)
def test_normalized_strings_order_as_the_instants(
    a: tuple[int, int, int], b: tuple[int, int, int]
) -> None:
    """Whatever the widths and offsets: never a later instant before an earlier one."""
    ia, ib = instant(a[0], a[1]), instant(b[0], b[1])
    na, nb = normalize_timestamp(render(*a)), normalize_timestamp(render(*b))
    if ia < ib:
        assert na <= nb
    if ia == ib:
        assert na == nb
    if ia // 1000 < ib // 1000:  # apart by a microsecond or more: strictly ordered
        assert na < nb


@given(st.one_of(st.none(), st.text(max_size=40), st.integers(), st.floats()))
def test_an_unreadable_time_falls_back_and_never_raises(value: object) -> None:
    got = normalize_or(value, "fallback")
    assert got == "fallback" or (len(got) == 27 and got == normalize_timestamp(got))


def test_raw_strings_of_different_widths_do_not_compare() -> None:
    """Why everything is normalised first: ``:15Z`` sorts after ``:15.01Z`` as text."""
    plain, finer = "2017-01-15T01:30:15Z", "2017-01-15T01:30:15.01Z"
    assert plain > finer
    assert normalize_timestamp(plain) < normalize_timestamp(finer)


@given(nanos, offsets)
def test_filter_bounds_are_whole_utc_seconds_never_after_the_instant(ns: int, off: int) -> None:
    moment = parse_timestamp(render(ns, 9, off))
    text = filter_timestamp(moment)
    assert len(text) == 20 and text.endswith("Z") and "." not in text
    bound = parse_timestamp(text)
    assert bound <= moment < bound + timedelta(seconds=1)


header_text = st.one_of(
    st.none(),
    st.text(max_size=60),
    st.from_regex(r"-?\d{1,12}(\.\d{1,4})?", fullmatch=True),
    st.datetimes(
        min_value=datetime(1, 1, 2),
        max_value=datetime(9999, 12, 30),
        timezones=st.just(UTC),
    ).map(lambda d: format_datetime(d, usegmt=True)),
)


@given(header_text, header_text)
def test_retry_after_never_raises_and_stays_within_the_cap(
    first: str | None, second: str | None
) -> None:
    for value in (first, second, ", ".join(v for v in (first, second) if v is not None)):
        wait = retry_after_seconds(value, NOW, CAP)
        assert wait is None or 0.0 <= wait <= CAP


@given(st.floats(min_value=0, max_value=10_000, allow_nan=False))
def test_retry_after_seconds_and_dates_are_read(seconds: float) -> None:
    assert retry_after_seconds(str(seconds), NOW, CAP) == min(seconds, CAP)
    assert retry_after_seconds(f"{int(seconds)}, {int(seconds)}", NOW, CAP) == min(
        int(seconds), CAP
    )
    later = format_datetime(NOW + timedelta(seconds=int(seconds)), usegmt=True)
    assert retry_after_seconds(later, NOW, CAP) == min(int(seconds), CAP)


@pytest.mark.parametrize("value", [None, "", "soon", "-5", "nan", "Mon, 99 Foo 2026 99:99:99 GMT"])
def test_unreadable_retry_after_leaves_the_backoff_to_us(value: str | None) -> None:
    assert retry_after_seconds(value, NOW, CAP) is None


@given(header_text, header_text)
def test_server_clock_never_raises_and_falls_back_to_ours(
    first: str | None, second: str | None
) -> None:
    for value in (first, second, ", ".join(v for v in (first, second) if v is not None)):
        moment = server_now(value, NOW)
        assert moment.tzinfo is not None
        assert abs(moment - NOW) <= timedelta(days=1)


@given(st.integers(min_value=-86_000, max_value=86_000))
def test_a_repeated_date_header_is_read_as_one(skew: int) -> None:
    date = format_datetime(NOW + timedelta(seconds=skew), usegmt=True)
    assert http_date(f"{date}, {date}") == NOW + timedelta(seconds=skew)
    assert server_now(f"{date}, {date}", NOW) == NOW + timedelta(seconds=skew)
    assert server_now("-0000 not a date", NOW) == NOW


def page(count: int, token: object = None, page_id: object = None) -> dict:
    response = {}
    if token is not None:
        response["next_page_token"] = token
    if page_id is not None:
        response["next_page_id"] = page_id
    return {"list": {"objects": [{"uuid": str(i)} for i in range(count)], "response": response}}


SORTED = ListQuery(path="/p", filter=None, page_size=10, sort_path="meta.create_time")


@given(
    st.integers(min_value=0, max_value=12),
    st.one_of(st.none(), st.integers(min_value=0, max_value=10**6), st.just("")),
    st.one_of(st.none(), st.text(alphabet="0123456789abcdef", min_size=1, max_size=24)),
    st.booleans(),
)
def test_no_token_after_a_full_or_linked_sorted_page_is_never_the_end(
    count: int, token: object, page_id: str | None, is_sorted: bool
) -> None:
    query = SORTED if is_sorted else SORTED.unsorted()
    body = page(count, token, page_id)
    has_token = token not in (None, "", 0)
    try:
        cursor = next_cursor(query, body)
    except SortedPagingUnavailableError:
        assert is_sorted and not has_token and (page_id or count >= 10)
        return
    if is_sorted:
        assert cursor == (Cursor(page_token=int(token)) if has_token else None)  # type: ignore[arg-type]
        assert not (cursor is None and (page_id or count >= 10))
    elif page_id:
        assert cursor == Cursor(page_id=page_id)
    elif has_token:
        # An empty page with a token is not the end (AIP-158: "including zero").
        assert cursor == Cursor(page_token=int(token))  # type: ignore[arg-type]
    else:
        assert cursor is None
    if cursor is not None:
        params = query.params(cursor)
        # Never page_id together with a sort (the API's HTTP 400).
        assert not ("list_parameters.page_id" in params and "list_parameters.sort.path" in params)


@given(st.lists(st.one_of(st.integers(1, 20), st.sampled_from("abcde")), max_size=30))
def test_a_cursor_seen_before_is_a_loop(cursors: list[int | str]) -> None:
    guard = CursorGuard()
    seen: set[Cursor] = set()
    for raw in cursors:
        cursor = Cursor(page_id=raw) if isinstance(raw, str) else Cursor(page_token=raw)
        if cursor in seen:
            with pytest.raises(PagingLoopError, match=str(raw)):
                guard.admit(cursor)
            return
        guard.admit(cursor)
        seen.add(cursor)


any_moment = st.datetimes(
    min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31, 23, 59, 59, 999999)
).map(lambda moment: moment.replace(tzinfo=UTC))


@given(any_moment, any_moment)
def test_every_protobuf_time_is_written_fixed_width_and_sorts_as_the_instant(
    first: datetime, second: datetime
) -> None:
    """Year 1 to 9999 (Go's zero time to the last protobuf second): ``strftime`` wrote year 1
    as ``1-01-01``, which sorted after every later year."""
    a, b = (format_timestamp(first), format_timestamp(second))
    assert len(a) == len(b) == 27
    assert (a < b) == (first < second)
    assert normalize_timestamp(a) == a
    assert parse_timestamp(a) == first
    assert parse_timestamp(filter_timestamp(first)) == first.replace(microsecond=0)
