"""The jump over a long range's empty start (``empty_prefix``): fewer requests, nothing else.

The invariant: with the jump or without it, a run emits the same records in the
same order and ends with the same state; its ``reconciliations`` still tile
the range read from ``start`` without a gap (only the window boundaries
differ), the jumped stretch being one window the API counted empty.  Shown over
a fake API (many cases, milliseconds) and over emulator data sets (a few, real
HTTP), with a sorted answer that lies (the count check falls back to the walk),
an empty stream, a start_date years back, and the request count of a default run.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tap_endorlabs.client import EPOCH, EndorStream
from tap_endorlabs.empty_prefix import (
    EMPTY_MARGIN,
    PROBE_AFTER,
    ProbeFailedError,
    find_empty_prefix,
)
from tap_endorlabs.errors import DeadlineExceededError, FatalTapError
from tap_endorlabs.tap import TapEndorLabs
from tap_endorlabs.timestamps import floor_to_second, format_timestamp, parse_timestamp
from tap_endorlabs.window_reader import Reconciliation, WindowQuery, read_windows
from tap_endorlabs.windows import sources_for
from tests.support.servers import start_emulator
from tests.test_tap.tap_runner import TapRun, run_tap_in_process, stats, tap_config
from tests.test_tap.test_window_reader import NOW, FakeApi, obj, reader

STREAMS_WALKED = ("audit_logs", "authentication_logs", "projects", "scan_results", "finding_logs")


def _in_store(api: FakeApi, window: WindowQuery) -> list[dict[str, Any]]:
    lo = floor_to_second(window.lo)
    hi = floor_to_second(window.hi) if window.hi is not None else None
    return [
        o
        for o in api.stores[window.source]
        if lo <= parse_timestamp(o["meta"]["create_time"])
        and (hi is None or parse_timestamp(o["meta"]["create_time"]) < hi)
    ]


def _count(api: FakeApi) -> Any:
    return lambda window: len(_in_store(api, window))


def _oldest(api: FakeApi, *, lie: bool = False, fail: BaseException | None = None) -> Any:
    """The oldest record's time from ``window.lo`` on; ``lie``: the second oldest instead."""

    def oldest(window: WindowQuery) -> datetime | None:
        if fail is not None:
            raise fail
        times = sorted(parse_timestamp(o["meta"]["create_time"]) for o in _in_store(api, window))
        if lie and times:
            times = times[1:]
        return times[0] if times else None

    return oldest


def _run(api: FakeApi, start: datetime, **kwargs: Any) -> tuple[list[str], list[Reconciliation]]:
    records: list[str] = []
    checks: list[Reconciliation] = []
    settings_ = reader(window_size=timedelta(days=1))
    for item in read_windows(api, start, settings_, count=_count(api), **kwargs):
        if isinstance(item, Reconciliation):
            checks.append(item)
        else:
            records.append(item["uuid"])
    return records, checks


def _tiled_from(start: datetime, checks: list[Reconciliation]) -> None:
    """The windows meet exactly from ``start`` to the open last one."""
    assert checks[0].lo == start
    for before, after in itertools.pairwise(checks):
        assert before.hi == after.lo
    assert checks[-1].hi is None


far_back = st.integers(min_value=0, max_value=40 * 365).map(
    lambda days: NOW - PROBE_AFTER - timedelta(days=days, seconds=1)
)
SINCE_1970 = int((NOW - datetime(1970, 1, 2, tzinfo=UTC)).total_seconds())
record_times = st.lists(
    st.integers(min_value=0, max_value=SINCE_1970)
    .map(lambda s: NOW - timedelta(seconds=s))
    .flatmap(lambda at: st.integers(0, 999_999).map(lambda us: at.replace(microsecond=us))),
    max_size=25,
)


@settings(max_examples=60, deadline=None)
@given(
    start=far_back,
    active=record_times,
    archive=record_times,
    lie=st.booleans(),
    failure=st.sampled_from(
        [None, FatalTapError("HTTP 400"), DeadlineExceededError("504"), ProbeFailedError("?")]
    ),
)
def test_the_jump_changes_no_record_and_leaves_no_hole(
    start: datetime,
    active: list[datetime],
    archive: list[datetime],
    lie: bool,
    failure: BaseException | None,
) -> None:
    stores = {
        "active": [obj(f"a{n:03}", at) for n, at in enumerate(active)],
        "archive": [obj(f"r{n:03}", at) for n, at in enumerate(archive)],
    }

    def walk(oldest: Any) -> tuple[list[str], list[Reconciliation]]:
        api = FakeApi(stores, page_size=5)
        records: list[str] = []
        checks: list[Reconciliation] = []
        settings_ = reader(
            window_size=timedelta(days=1),
            sources=lambda lo, hi: ("active", "archive"),
        )
        for item in read_windows(api, start, settings_, count=_count(api), oldest=oldest(api)):
            if isinstance(item, Reconciliation):
                checks.append(item)
            else:
                records.append(item["uuid"])
        return records, checks

    plain, plain_checks = walk(lambda api: None)
    jumped, checks = walk(lambda api: _oldest(api, lie=lie, fail=failure))
    assert jumped == plain
    _tiled_from(start, checks)
    assert len(checks) <= len(plain_checks)
    since = sorted(t for t in active + archive if t >= floor_to_second(start))
    t0 = floor_to_second(NOW - EMPTY_MARGIN)
    if since:
        t0 = min(t0, floor_to_second(since[0]))
    if failure is None and not lie and t0 > start:
        # The stretch up to the oldest record (or the API's now less the margin) is one window.
        first = checks[0]
        assert (first.lo, first.hi, first.sources) == (start, t0, ("active", "archive"))
        assert first.api_count == first.read_count == 0


def test_a_sorted_answer_that_lies_is_caught_by_the_count() -> None:
    """The oldest record left out of the sorted page: the count sees it, the walk reads it."""
    start = NOW - timedelta(days=3000)
    first = obj("first", NOW - timedelta(days=400))
    second = obj("second", NOW - timedelta(days=300))
    api = FakeApi({"active": [first, second]})
    records, checks = _run(api, start, oldest=_oldest(api, lie=True))
    assert records == ["first", "second"]
    _tiled_from(start, checks)
    assert all(check.hi is None or check.hi - check.lo <= timedelta(days=366) for check in checks)


def test_a_recent_start_is_not_probed() -> None:
    start = NOW - PROBE_AFTER + timedelta(days=1)
    api = FakeApi({"active": [obj("one", NOW - timedelta(days=10))]})

    def never(window: WindowQuery) -> datetime | None:
        raise AssertionError("probed a range shorter than PROBE_AFTER")

    records, _ = _run(api, start, oldest=never)
    assert records == ["one"]


def test_an_empty_stream_is_one_proven_stretch_and_one_open_window() -> None:
    api = FakeApi({"active": []})
    records, checks = _run(api, EPOCH, oldest=_oldest(api))
    assert records == []
    assert (checks[0].lo, checks[0].hi) == (EPOCH, floor_to_second(NOW - EMPTY_MARGIN))
    _tiled_from(EPOCH, checks)
    # The walk from there: the margin (its first window may end at now exactly), then open.
    assert len(checks) <= 3
    assert all(check.api_count == 0 for check in checks)


# --- over the emulator ---------------------------------------------------------


@pytest.fixture
def plain_walk(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A switch between the walk with the jump (as shipped) and without it."""

    def use(jump: bool) -> None:
        monkeypatch.setattr(EndorStream, "skip_empty_prefix", jump)

    yield use


def _both_ways(url: str, use: Any, **config: Any) -> tuple[TapRun, TapRun, int, int]:
    """Runs without then with the jump, and the requests each made."""
    runs: list[TapRun] = []
    requests: list[int] = []
    for jump in (False, True):
        use(jump)
        before = stats(url)["requests"]
        runs.append(run_tap_in_process(tap_config(url, **config)))
        requests.append(stats(url)["requests"] - before)
        assert runs[-1].returncode == 0, runs[-1].stderr[-2000:]
    return runs[0], runs[1], requests[0], requests[1]


def _assert_same_output(plain: TapRun, jumped: TapRun) -> None:
    for stream in set(plain.records) | set(jumped.records):
        if stream != "reconciliations":
            assert jumped.uuids(stream) == plain.uuids(stream), stream
    assert jumped.final_state == plain.final_state


def _assert_tiled(run: TapRun, start: str) -> None:
    """Each walked stream's windows meet exactly, from ``start`` (whole seconds) on."""
    spans: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for record in run.records["reconciliations"]:
        if record["window_start"] is not None:
            key = (record["stream"], record["namespace"])
            spans.setdefault(key, []).append((record["window_start"], record["window_end"]))
    assert {stream for stream, _ in spans} >= set(STREAMS_WALKED)
    for key, windows in spans.items():
        assert windows[0][0] == start, key
        for (_, end), (begin, _) in itertools.pairwise(windows):
            assert end == begin, key


@settings(max_examples=4, deadline=None)
@given(
    seed=st.integers(1, 1000),
    audit_days=st.integers(0, 1500),
    audit_logs=st.sampled_from([0, 1, 300]),
    timestamps=st.sampled_from(["plain", "mixed"]),
)
def test_same_records_order_and_state_on_emulator_data_sets(
    seed: int, audit_days: int, audit_logs: int, timestamps: str
) -> None:
    flags = ["--seed", str(seed), "--audit-days", str(audit_days)]
    flags += ["--audit-logs", str(audit_logs), "--authentication-logs", str(audit_logs // 3)]
    flags += ["--timestamps", timestamps, "--projects", "3", "--scans-per-project", "2"]
    with pytest.MonkeyPatch.context() as patch, start_emulator(*flags) as server:

        def use(jump: bool) -> None:
            patch.setattr(EndorStream, "skip_empty_prefix", jump)

        plain, jumped, before, after = _both_ways(server.url, use, start_date=None)
    _assert_same_output(plain, jumped)
    _assert_tiled(jumped, "1970-01-01T00:00:00Z")
    assert after < before


def test_a_default_run_makes_far_fewer_requests(emulator: Any, plain_walk: Any) -> None:
    plain, jumped, before, after = _both_ways(emulator.url, plain_walk, start_date=None)
    _assert_same_output(plain, jumped)
    _assert_tiled(jumped, "1970-01-01T00:00:00Z")
    # 853 requests before, 126 after (see benchmarks/README.md): the empty decades gone.
    assert after * 4 < before, (before, after)


def test_a_sorted_answer_without_the_oldest_record_falls_back_to_the_walk(
    emulator_factory: Any, plain_walk: Any
) -> None:
    server = emulator_factory("--paging", "sorted-first-missing")
    plain, jumped, _, _ = _both_ways(server.url, plain_walk, start_date=None)
    _assert_same_output(plain, jumped)
    _assert_tiled(jumped, "1970-01-01T00:00:00Z")
    assert "yet it counts 1 before it; walking from 1970-01-01" in jumped.stderr


def test_an_empty_stream_is_read_in_two_windows(emulator_factory: Any, plain_walk: Any) -> None:
    server = emulator_factory(
        "--audit-logs", "0", "--authentication-logs", "0", "--finding-logs", "0"
    )
    plain_walk(True)
    run = run_tap_in_process(tap_config(server.url, start_date=None))
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.records["audit_logs"] == []
    windows = [
        (r["window_start"], r["window_end"], r["store"], r["api_count"])
        for r in run.records["reconciliations"]
        if r["stream"] == "audit_logs"
    ]
    assert len(windows) == 2, windows
    assert windows[0][0] == "1970-01-01T00:00:00Z"
    assert windows[0][2:] == ("both", 0)  # the archive and the active store both counted empty
    assert windows[0][1] == windows[1][0]


def test_a_start_date_years_back_jumps_from_it(emulator: Any, plain_walk: Any) -> None:
    start = (datetime.now(UTC) - timedelta(days=5 * 365)).strftime("%Y-%m-%dT%H:%M:%SZ")
    plain, jumped, before, after = _both_ways(emulator.url, plain_walk, start_date=start)
    _assert_same_output(plain, jumped)
    first = {}
    for record in jumped.records["reconciliations"]:
        first.setdefault(record["stream"], record)
    assert first["audit_logs"]["window_start"] == start
    assert first["audit_logs"]["api_count"] == 0
    assert format_timestamp(parse_timestamp(first["audit_logs"]["window_end"])) > start
    assert after < before


def test_audit_logs_count_the_active_store_before_the_archive() -> None:
    """A record moving to the archive between the two counts is counted there, never missed."""
    boundary = datetime.now(UTC) - timedelta(days=30)
    sources = sources_for(EPOCH, None, boundary)
    assert sources == ("active", "archive")
    asked: list[str] = []

    def count(lo: datetime, hi: datetime, source: str) -> int:
        asked.append(source)
        return 0

    prefix = find_empty_prefix(
        EPOCH,
        now=datetime.now(UTC),
        sources=sources,
        oldest=lambda lo, source: None,
        count=count,
        logger=None,
    )
    assert prefix is not None
    assert asked == ["active", "archive"]


def test_the_probe_asks_one_small_sorted_masked_page_from_start_on() -> None:
    config = tap_config("http://127.0.0.1:9", start_date=None)
    tap = TapEndorLabs(config=config, parse_env_config=False)
    for stream in tap.streams.values():
        if not isinstance(stream, EndorStream):
            continue
        for source in stream.window_sources(EPOCH, None):
            params = stream.probe_query(WindowQuery(EPOCH, None, source)).params()
            assert params["list_parameters.sort.path"] == stream.time_field
            assert params["list_parameters.sort.order"] == "SORT_ENTRY_ORDER_ASC"
            assert params["list_parameters.page_size"] == 20
            assert params["list_parameters.mask"] == f"uuid,{stream.time_field}"
            assert "list_parameters.page_id" not in params
            assert "list_parameters.page_token" not in params
            where = params["list_parameters.filter"]
            assert f"{stream.time_field} >= date(1970-01-01T00:00:00Z)" in where
            assert " < date(" not in where, stream.name


def test_an_empty_sorted_page_that_says_more_follows_is_not_an_empty_store(
    emulator_factory: Any, plain_walk: Any
) -> None:
    """The probe reads one page: empty with a cursor says nothing, so the tap walks."""
    server = emulator_factory("--paging", "empty-pages", "--audit-logs", "300")
    plain, jumped, _, _ = _both_ways(server.url, plain_walk, start_date=None)
    _assert_same_output(plain, jumped)
    _assert_tiled(jumped, "1970-01-01T00:00:00Z")
    assert "the sorted page came back empty, yet says more follows" in jumped.stderr
    assert "yet it counts" not in jumped.stderr  # no oldest record was made up
