"""Reading a stream's time range window by window: plain functions over a page fetcher.

Nothing here speaks HTTP.  The caller hands in ``fetch``: "the pages of this
window of this store", raising ``WindowTooBigError`` (a 504, our read time-out)
or ``SortedPagingUnavailableError`` (a sorted page that cannot say where the
next starts), and ``count``: "how many objects the API holds in this window of
this store" (``list_parameters.count``).  The functions decide everything else:

- planning: adaptive windows (``windows.WindowPlanner``), cut at the archive
  seam's edges;
- verification before emission: each window is read whole into memory
  (bounded by ``SEAM_BUFFER_PAGES`` pages; a bigger one is halved), de-duplicated
  by uuid (pages that overlap cost nothing) and compared with the API's count of
  the same query, taken before the read.  A shortfall re-reads the window by
  other routes (``page_id`` without sort, smaller pages, halves); if it stays
  short, ``IncompleteWindowError`` stops the run before any record of the
  window is emitted, so no bookmark can pass it.  Trusting the shape of pages
  lost records with exit 0 each time the API paged in a way not modelled
  (issue 19): the count checks the outcome, whatever the paging did;
- splitting: after a deadline the window is halved and read again;
- the seam and client-side ordering: a window read from both audit-log stores,
  or read unsorted, is merged by uuid and ordered before it is emitted;
- de-duplication at window edges and at the bookmark: what lies before the
  last emitted instant, or at it under a uuid already emitted, is skipped.

After a window's records, ``read_windows`` yields its ``Reconciliation`` (when
given ``count``), which the stream turns into a ``reconciliations`` record.

So every rule is unit-tested with a fake ``fetch`` in milliseconds
(tests/test_tap/test_window_reader.py).

With ``ahead`` > 1 the next windows are read (and verified) in parallel
(``ReadAhead``) while the current one is emitted, and still emitted one after
another, in order: the records, the bookmarks and the state are those of a
one-at-a-time run.  As in Airbyte's concurrent CDK
(``airbyte_cdk/sources/streams/concurrent/cursor.py``,
``ConcurrentCursor.stream_slices``: the cursor range cut into slices planned up
front; ``thread_pool_manager.py``: a cap on tasks in flight, worker errors
handed to the main thread), windows are planned ahead of reading and memory is
bounded by the number of windows in flight, not by data.  Unlike it, records
are not emitted as they arrive (Airbyte then keeps state as a list of closed
slice intervals): each window is emitted only once every window before it is,
so the Singer state stays one monotone bookmark that resumes anywhere.
Memory: ``ahead`` windows of at most ``SEAM_BUFFER_PAGES`` pages each.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from tap_endorlabs.empty_prefix import EmptyPrefix, find_empty_prefix
from tap_endorlabs.errors import (
    BufferedWindowTooBigError,
    DeadlineExceededError,
    FatalTapError,
    IncompleteWindowError,
    RepeatedEarlyDeadlineError,
    SeamWindowTooBigError,
    SortedPagingUnavailableError,
    WindowTooBigError,
)
from tap_endorlabs.retry import DEFAULT_BUDGET_SECONDS, RetryPolicy
from tap_endorlabs.timestamps import (
    floor_to_second,
    format_second,
    format_timestamp,
    normalize_or,
    parse_timestamp,
)
from tap_endorlabs.windows import WindowPlanner

#: Windows of at most this many pages count as cheap: the next one grows.
CHEAP_WINDOW_PAGES = 4
#: A window is held in memory, verified and ordered before it is emitted; past
#: this many pages' worth of records it is halved instead, so memory follows
#: page_size, not the size of the backfill.
SEAM_BUFFER_PAGES = 20
#: Reading ahead, a window whose first page says it holds more than this many
#: pages is planned again in smaller windows: one window is paged one request
#: after another, so a dense one would be read at the speed of one request at a time.
DENSE_WINDOW_PAGES = 2 * CHEAP_WINDOW_PAGES
BACKOFF_BASE_SECONDS = 0.1
#: The longest pause between two tries of a count that met a deadline.
COUNT_BACKOFF_CAP_SECONDS = 5.0
#: A window ending this close to the API's "now" may still receive records: its
#: count is a floor ("at least"), taken before the read, not an exact figure.
SETTLE_MARGIN = timedelta(minutes=15)
#: Tries of a count that meets a deadline before the window is halved.
COUNT_DEADLINE_TRIES = 3
#: Re-reads by smaller pages ask for this fraction of page_size.
SMALL_PAGE_DIVISOR = 4

Page = list[dict[str, Any]]

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WindowQuery:
    """One store's part of one window: what ``fetch`` and ``count`` are asked for."""

    lo: datetime
    hi: datetime | None
    source: str
    #: Read by ``page_id`` without sort (the caller orders the window).
    unsorted: bool = False
    #: Pages of this size instead of the stream's page_size (a re-read's route).
    page_size: int | None = None


#: "The pages of this window of this store", in the API's order.
FetchPages = Callable[[WindowQuery], Iterable[Page]]
#: "How many objects this window of this store holds", by the API's own count.
CountWindow = Callable[[WindowQuery], int]
#: "The oldest record's time in this store from ``lo`` on" (``hi`` None), None if none.
OldestRecord = Callable[[WindowQuery], datetime | None]


@dataclass(frozen=True)
class Reconciliation:
    """A window read whole and checked against the API's count (yielded after its records).

    It covers the records whose time lies in ``[lo, hi)`` cut to whole seconds,
    which is what the window's filter selects; consecutive windows' ranges meet
    exactly, so every record belongs to one reconciliation.
    """

    lo: datetime
    #: None for the open last window (no upper bound: ``checked_at`` closes it).
    hi: datetime | None
    #: The stores read: ("active",), ("archive",) or both at the seam.
    sources: tuple[str, ...]
    #: "exact", or "at_least" for a window still open to new records.
    check: str
    api_count: int
    read_count: int
    #: The API's time when it was counted.
    checked_at: datetime


@dataclass
class ReaderSettings:
    """What a stream tells the reader about itself (no HTTP, no SDK)."""

    #: Dotted path of the time field the windows, the order and the dedupe use.
    time_field: str
    #: Initial window length.
    window_size: timedelta
    page_size: int
    #: Which stores a window ``(lo, hi)`` reads; one, except at the audit-log seam.
    sources: Callable[[datetime, datetime | None], tuple[str, ...]] = lambda lo, hi: ("active",)
    #: Times no window may cross (the seam margins), asked again per window.
    edges: Callable[[], tuple[datetime, ...]] = tuple
    #: Name used in log lines and errors.
    name: str = "stream"
    #: The namespace read, for the error line of an incomplete window.
    namespace: str = ""
    #: The API's clock (its Date header), not necessarily ours.
    now: Callable[[], datetime] = lambda: datetime.now(UTC)
    sleep: Callable[[float], None] = time.sleep
    #: How long a smallest window that keeps timing out is tried again, as any
    #: other request is (``retry_budget_seconds``), and the clock that measures it.
    retry_budget_seconds: float = DEFAULT_BUDGET_SECONDS
    clock: Callable[[], float] = time.monotonic
    logger: Any = field(default=_log)


@dataclass
class PagingMode:
    """Whether windows are read sorted by the API or unsorted and ordered here.

    Shared by every window of a run: once the API shows it does not page sorted
    lists, every later window is read by ``page_id`` without sort.
    """

    order_on_client: bool = False


def dotted_get(record: dict[str, Any], path: str) -> Any:
    """``record["a"]["b"]`` for ``path == "a.b"``; None when any step is missing."""
    node: Any = record
    for step in path.split("."):
        if not isinstance(node, dict):
            return None
        node = node.get(step)
    return node


@dataclass
class HeldWindow:
    """One window read whole: its objects by uuid, verified when a count was given."""

    lo: datetime
    hi: datetime | None
    objects: dict[str, dict[str, Any]] = field(default_factory=dict)
    pages_read: int = 0
    reconciliation: Reconciliation | None = None

    def add(self, page: Page) -> None:
        """Merge a page in; an object seen before (overlapping pages, both stores) is kept once."""
        self.pages_read += 1
        for obj in page:
            self.objects.setdefault(str(obj.get("uuid")), obj)

    def read_in_range(self, time_field: str) -> int:
        """Distinct objects read whose time lies in the window's whole-second range."""
        low = format_timestamp(floor_to_second(self.lo))
        high = format_timestamp(floor_to_second(self.hi)) if self.hi is not None else None
        total = 0
        for obj in self.objects.values():
            moment = normalize_or(dotted_get(obj, time_field), low)
            if moment >= low and (high is None or moment < high):
                total += 1
        return total

    def pages(self, time_field: str, page_size: int) -> Iterator[Page]:
        """The objects in (time, uuid) order, in pages of ``page_size``."""
        return ordered_pages(self.objects.values(), time_field, page_size)


class _Dropped(Exception):  # a window read ahead that the emitter no longer wants
    pass


class _DenseWindow(Exception):  # raised by a window read ahead, handled by the emitter
    """The window holds many pages: plan it again in windows of ``size``."""

    def __init__(self, size: timedelta) -> None:
        super().__init__(str(size))
        self.size = size


@dataclass
class WindowRead:
    """How one window is read: the callables, the stream's settings, the paging mode."""

    fetch: FetchPages
    count: CountWindow | None
    settings: ReaderSettings
    mode: PagingMode
    #: Judge the first page for density (reading ahead only).
    dense_check: bool = False
    #: True once the emitter dropped this window (checked between pages).
    dropped: Callable[[], bool] = lambda: False

    def read(self, lo: datetime, hi: datetime | None, *, merge_limit: bool) -> HeldWindow:
        """Read the window ``[lo, hi)`` whole, verified against the API's count.

        With ``merge_limit`` a window over ``SEAM_BUFFER_PAGES`` pages raises
        before anything of it is emitted; the caller halves it and reads it
        again, so memory stays bounded by ``page_size``.

        Raises:
            BufferedWindowTooBigError: the window outgrew its buffer.
            IncompleteWindowError: the API counts more than every route read.
            _DenseWindow: reading ahead, the first page shows a dense window.
        """
        settings = self.settings
        sources = settings.sources(lo, hi)
        checked_at = settings.now()
        at_least = hi is None or hi > checked_at - SETTLE_MARGIN
        expected = None
        if self.count is not None and at_least:
            # Counted before the read: for a window still receiving records, what
            # was there at this moment must all be read (the "at least" check).
            expected = self._count_all(lo, hi, sources)
        held = HeldWindow(lo, hi)
        limit = SEAM_BUFFER_PAGES * settings.page_size
        for source in sources:
            query = WindowQuery(lo, hi, source, unsorted=self.mode.order_on_client)
            for objects in self.fetch(query):
                if self.dropped():
                    raise _Dropped
                if held.pages_read == 0 and self.dense_check and len(sources) == 1:
                    narrower = dense_window_size(objects, lo, hi, settings, self.mode)
                    if narrower is not None:
                        raise _DenseWindow(narrower)
                held.add(objects)
                if merge_limit and len(held.objects) > limit:
                    if len(sources) > 1:
                        raise SeamWindowTooBigError(f"more than {limit} records at the seam")
                    raise BufferedWindowTooBigError(f"more than {limit} records to hold")
        if self.count is not None:
            if expected is None:
                # A closed window is counted after its read: a window too big to
                # read in time is halved by the read's deadline, before its count.
                checked_at = settings.now()
                expected = self._count_all(lo, hi, sources)
            check = "at_least" if at_least else "exact"
            expected = self._verify(held, sources, expected, at_least=at_least)
            held.reconciliation = Reconciliation(
                lo=lo,
                hi=hi,
                sources=sources,
                check=check,
                api_count=expected,
                read_count=held.read_in_range(settings.time_field),
                checked_at=checked_at,
            )
        return held

    def _count_all(self, lo: datetime, hi: datetime | None, sources: tuple[str, ...]) -> int:
        return sum(self._count_one(WindowQuery(lo, hi, source)) for source in sources)

    def _count_one(self, query: WindowQuery) -> int:
        """The API's count; a deadline is tried again before it halves the window.

        A count costs the API far less than the pages it counts: one that times
        out is more likely a passing fault than a window too big to count.
        """
        assert self.count is not None
        for attempt in range(COUNT_DEADLINE_TRIES):
            try:
                return self.count(query)
            except DeadlineExceededError:
                if attempt + 1 >= COUNT_DEADLINE_TRIES:
                    raise
                self.settings.sleep(
                    min(BACKOFF_BASE_SECONDS * 2**attempt, COUNT_BACKOFF_CAP_SECONDS)
                )
        raise AssertionError("unreachable")  # pragma: no cover

    def _verify(
        self, held: HeldWindow, sources: tuple[str, ...], expected: int, *, at_least: bool
    ) -> int:
        """The API's count once the window read agrees with it; re-read by other routes if not.

        Returns the count the window was last checked against.

        Raises:
            IncompleteWindowError: fewer records than the API counts, by every route.
        """
        settings = self.settings
        got = held.read_in_range(settings.time_field)
        if got == expected or (at_least and got >= expected):
            return expected
        first_got = got
        tried: list[str] = []
        for name, queries in self._routes(held.lo, held.hi, sources):
            # Counted again: a record may have moved store or been updated since.
            expected = self._count_all(held.lo, held.hi, sources)
            if got >= expected:
                break
            tried.append(name)
            for query in queries:
                for objects in self.fetch(query):
                    held.add(objects)
            got = held.read_in_range(settings.time_field)
            if got >= expected:
                break
        if got < expected:
            raise IncompleteWindowError(
                incomplete_line(settings, held.lo, held.hi, sources, expected, got, tried)
            )
        if got != first_got:
            settings.logger.warning(
                "%s in namespace %r: the window %s read %d of the API's %d records; "
                "re-read by %s, it holds them all",
                settings.name,
                settings.namespace,
                window_text(held.lo, held.hi),
                first_got,
                expected,
                ", then ".join(tried),
            )
        elif got > expected and not at_least:
            settings.logger.info(
                "%s in namespace %r: the window %s holds %d records, the API counts %d "
                "(records that arrived or changed while it was read)",
                settings.name,
                settings.namespace,
                window_text(held.lo, held.hi),
                got,
                expected,
            )
        return expected

    def _routes(
        self, lo: datetime, hi: datetime | None, sources: tuple[str, ...]
    ) -> Iterator[tuple[str, list[WindowQuery]]]:
        """Other ways to read the same window: another cursor kind, smaller pages, halves."""
        small = max(1, self.settings.page_size // SMALL_PAGE_DIVISOR)
        if not self.mode.order_on_client:
            yield "page_id without sort", [WindowQuery(lo, hi, s, unsorted=True) for s in sources]
        yield (
            "smaller pages",
            [WindowQuery(lo, hi, s, self.mode.order_on_client, small) for s in sources],
        )
        end = hi if hi is not None else self.settings.now()
        if end - lo >= timedelta(seconds=2):
            middle = floor_to_second(lo + (end - lo) / 2)
            yield (
                "halves",
                [
                    WindowQuery(a, b, s, self.mode.order_on_client, small)
                    for a, b in ((lo, middle), (middle, hi))
                    for s in sources
                ],
            )


def window_text(lo: datetime, hi: datetime | None) -> str:
    """``[lo, hi)`` as the filter reads it (whole seconds, UTC)."""
    low = format_second(lo)
    high = format_second(hi) if hi is not None else "now"
    return f"{low}..{high}"


def incomplete_line(  # noqa: PLR0917 - every fact the line names
    settings: ReaderSettings,
    lo: datetime,
    hi: datetime | None,
    sources: tuple[str, ...],
    expected: int,
    got: int,
    tried: list[str],
) -> str:
    """The one line of a window the API counts more records in than the tap could read."""
    store = " and ".join(sources)
    routes = f" (re-read by {', '.join(tried)})" if tried else ""
    return (
        f"Incomplete read of {settings.name} in namespace {settings.namespace!r}, window "
        f"{window_text(lo, hi)} ({store} store): the API counts {expected} records, the tap "
        f"read {got}{routes}. Stopped before emitting the window: no state passes it, and "
        "the next run reads it again."
    )


def ordered_pages(
    objects: Iterable[dict[str, Any]], time_field: str, page_size: int
) -> Iterator[Page]:
    """``objects`` ordered by (time, uuid), handed on in pages of ``page_size``."""

    def order(obj: dict[str, Any]) -> tuple[str, str]:
        return (normalize_or(dotted_get(obj, time_field), ""), str(obj.get("uuid")))

    ordered = sorted(objects, key=order)
    size = max(1, page_size)
    for begin in range(0, len(ordered), size):
        yield ordered[begin : begin + size]


def read_windows(
    fetch: FetchPages,
    start: datetime,
    settings: ReaderSettings,
    *,
    emitted_at_start: Iterable[str] = (),
    mode: PagingMode | None = None,
    ahead: int = 1,
    count: CountWindow | None = None,
    oldest: OldestRecord | None = None,
) -> Iterator[dict[str, Any] | Reconciliation]:
    """Every object from ``start`` on, ascending on the time field, each once.

    With ``oldest`` (and ``count``) a range starting long ago first jumps over
    its empty start, proved empty by the API's count (``empty_prefix``): that
    stretch's ``Reconciliation`` comes first, and the windows begin where it
    ends.  The records and their order are the same either way.

    With ``count`` each window is verified against the API's count before any
    of it is emitted, and its ``Reconciliation`` follows its records.

    ``last_time`` and ``seen_at_last`` say what is out: everything before
    ``last_time``, and the uuids in ``seen_at_last`` at it.  They start at the
    bookmark with the uuids the state lists for it (``emitted_at_start``), so a
    run after a clean run emits nothing again.  Each window skips what lies
    before where it began, which its whole-second lower bound may reach back into.

    After a deadline (a 504, or no answer in time) the window is halved and
    read again.  After a sorted page that cannot say where the next starts, the
    window is read again by ``page_id`` without sort and ordered here, and so is
    every later window.

    With ``ahead`` > 1 up to that many windows are read at once (``ReadAhead``);
    a failure of a window read ahead is raised only when its turn comes, exactly
    where a one-at-a-time run meets it, and the windows after it are dropped and
    planned again.

    Raises:
        FatalTapError: when even the smallest window exceeds the deadline.
        IncompleteWindowError: when a window stays short of the API's count.
    """
    mode = mode if mode is not None else PagingMode()
    reading = ReadAhead(fetch, count, settings, mode, ahead) if ahead > 1 else None
    try:
        how = WindowRead(fetch, count, settings, mode)
        yield from _read(how, start, emitted_at_start, reading, oldest)
    finally:
        if reading is not None:
            reading.close()


def _read(
    how: WindowRead,
    start: datetime,
    emitted_at_start: Iterable[str],
    reading: ReadAhead | None,
    oldest: OldestRecord | None = None,
) -> Iterator[dict[str, Any] | Reconciliation]:
    """``read_windows``' loop (``reading``: the windows read ahead, if any)."""
    settings, mode = how.settings, how.mode
    walk_from = start
    if oldest is not None and how.count is not None:
        prefix = _empty_prefix(how, start, oldest)
        if prefix is not None:
            # Nothing lies in [start, walk_from): what is skipped below is skipped alike.
            walk_from = prefix.hi
            yield Reconciliation(
                lo=prefix.lo,
                hi=prefix.hi,
                sources=prefix.sources,
                check="exact",
                api_count=0,
                read_count=0,
                checked_at=prefix.checked_at,
            )
    planner = WindowPlanner(
        start=walk_from, end=None, size=settings.window_size, now=settings.now()
    )
    # Normalised timestamps are fixed width: string order is time order, and
    # comparing strings spares a datetime per record.
    last_time = format_timestamp(start)
    seen_at_last: set[str] = set(emitted_at_start)
    stuck = 0
    stuck_since = 0.0
    time_field = settings.time_field
    while not planner.finished:
        try:
            if reading is None:
                lo, hi = planner.current(settings.edges())
                held = how.read(lo, hi, merge_limit=not planner.at_minimum)
            else:
                lo, hi, held = reading.next_window(planner)
        except _DenseWindow as dense:
            # Planned again from its start in windows of a few pages each, read in parallel.
            assert reading is not None
            reading.drop_all()
            planner.narrow(planner.cursor, dense.size)
            continue
        except SortedPagingUnavailableError as unsorted:
            if reading is not None:
                reading.drop_all()
            mode.order_on_client = True
            settings.logger.warning(
                "The API does not page sorted lists (%s): %s now reads its windows by "
                "page_id without sort and orders them itself",
                unsorted,
                settings.name,
            )
            continue
        except WindowTooBigError as too_big:
            if reading is not None:
                reading.drop_all()
            lo, hi = planner.current(settings.edges())
            if planner.at_minimum:
                # Nothing left to split: a plain retry, for the retry budget like any other.
                stuck += 1
                if stuck == 1:
                    stuck_since = settings.clock()
                spent = settings.clock() - stuck_since
                budget = settings.retry_budget_seconds
                if stuck > 1 and spent >= budget:
                    msg = (
                        f"The Endor Labs API timed out on {settings.name} even for a "
                        f"{planner.size} window at {lo.isoformat()} ({too_big}): {stuck} "
                        f"attempts in {spent:.0f}s (retry_budget_seconds: {budget:g}); "
                        "raise request_timeout."
                    )
                    raise FatalTapError(msg) from None
                cap = RetryPolicy(budget_seconds=budget).max_wait
                settings.sleep(min(BACKOFF_BASE_SECONDS * 2**stuck, cap))
            # A window read ahead was planned at the size of its launch, maybe
            # long before: halve what is planned now, or the lagging sizes of
            # older windows would drag every later window down to the minimum.
            tried = None if hi is None or reading is not None else hi - lo
            planner.split(
                planner.cursor,
                tried=tried,
                learn=not isinstance(too_big, RepeatedEarlyDeadlineError),
            )
            settings.logger.info(
                "%s on %s: window now %s (%s)",
                split_reason(too_big),
                settings.name,
                planner.size,
                too_big,
            )
            continue
        window_start = format_timestamp(lo)
        # Everything before this is out already (or before start).
        floor = min(last_time, window_start)
        for objects in held.pages(time_field, settings.page_size):
            for obj in objects:
                moment = normalize_or(dotted_get(obj, time_field), window_start)
                if moment < floor:
                    continue
                uid = str(obj.get("uuid"))
                if moment == last_time:
                    if uid in seen_at_last:
                        continue
                    seen_at_last.add(uid)
                elif moment > last_time:
                    last_time, seen_at_last = moment, {uid}
                yield obj
        if held.reconciliation is not None:
            yield held.reconciliation
        stuck = 0
        # Windows of a few pages amortise each query's fixed cost; grow until then.
        # Reading ahead, windows stay nearer two pages: more of them to read at once.
        cheap_pages = CHEAP_WINDOW_PAGES if reading is None else CHEAP_WINDOW_PAGES // 2
        planner.done(hi, cheap=held.pages_read <= cheap_pages)
        count = len(held.objects)
        if reading is not None and hi is not None and count:
            # Sized by the density just seen (about two pages), not only doubled:
            # the windows launched next are read at once, so their size matters now.
            planner.resize((hi - lo) * (2 * settings.page_size) / count)


def _empty_prefix(how: WindowRead, start: datetime, oldest: OldestRecord) -> EmptyPrefix | None:
    """``empty_prefix.find_empty_prefix`` over this reader's callables and stores."""
    settings = how.settings
    count = how.count
    assert count is not None
    return find_empty_prefix(
        start,
        now=settings.now(),
        # Every store a window from ``start`` on may read (both, for audit logs).
        sources=settings.sources(start, None),
        oldest=lambda lo, source: oldest(WindowQuery(lo, None, source)),
        count=lambda lo, hi, source: how._count_one(WindowQuery(lo, hi, source)),
        logger=settings.logger,
        name=f"{settings.name} in namespace {settings.namespace!r}",
    )


def dense_window_size(
    first_page: Page,
    lo: datetime,
    hi: datetime | None,
    settings: ReaderSettings,
    mode: PagingMode,
) -> timedelta | None:
    """A window length of about ``CHEAP_WINDOW_PAGES`` pages, if this window holds far more.

    Judged from its first page (full, sorted): the time from its first to its
    last record is what one page covers here (the data may begin well after
    ``lo``).  None for a window that looks small, or one read unsorted.
    """
    if len(first_page) < settings.page_size or mode.order_on_client:
        return None
    first = normalize_or(dotted_get(first_page[0], settings.time_field), "")
    last = normalize_or(dotted_get(first_page[-1], settings.time_field), "")
    if not first or not last:
        return None
    begins = max(parse_timestamp(first), lo)
    per_page = max(parse_timestamp(last) - begins, timedelta(0))
    end = hi if hi is not None else settings.now()
    if per_page * DENSE_WINDOW_PAGES >= end - begins:
        return None
    # From lo (nothing of the window is out yet), about CHEAP_WINDOW_PAGES pages.
    return max((begins - lo) + per_page * CHEAP_WINDOW_PAGES, timedelta(seconds=1))


def split_reason(error: WindowTooBigError) -> str:
    """How the log names why a window was halved."""
    if isinstance(error, RepeatedEarlyDeadlineError):
        return "Two early 504s in a row"
    if isinstance(error, DeadlineExceededError):
        return "Deadline exceeded"
    if isinstance(error, SeamWindowTooBigError):
        return "Seam window over its buffer"
    return "Window over its buffer"


@dataclass
class _WindowTask:
    """One window being read (and verified) on a worker thread."""

    lo: datetime
    hi: datetime | None
    result: Future[HeldWindow]
    dropped: threading.Event


class ReadAhead:
    """Windows read in parallel on ``ahead`` worker threads, handed out in order.

    The planner stays the emitter's: windows are planned here from where the
    last one launched ends, at the planner's size of the moment, and the
    planner moves on (``done``/``split``/``narrow``) only as the emitter gets
    through them.  When the emitter meets a failure (a deadline, a sorted page
    without a token, a dense window), every window launched after it is dropped
    and planned again from where the planner resumes.
    """

    def __init__(
        self,
        fetch: FetchPages,
        count: CountWindow | None,
        settings: ReaderSettings,
        mode: PagingMode,
        ahead: int,
    ) -> None:
        self._fetch = fetch
        self._count = count
        self._settings = settings
        self._mode = mode
        self._ahead = ahead
        self._tasks: list[_WindowTask] = []
        self._pool = ThreadPoolExecutor(ahead, thread_name_prefix="window-reader")

    def next_window(self, planner: WindowPlanner) -> tuple[datetime, datetime | None, HeldWindow]:
        """The planner's current window, read (and verified) ahead; its failure raised here."""
        if self._tasks and self._tasks[0].lo != planner.cursor:
            self.drop_all()  # the planner moved elsewhere: what was read ahead is stale
        self._fill(planner)
        task = self._tasks.pop(0)
        return task.lo, task.hi, task.result.result()

    def _fill(self, planner: WindowPlanner) -> None:
        """Launch windows until ``ahead`` are in flight or the open-ended last one is."""
        edges = self._settings.edges()
        while len(self._tasks) < self._ahead:
            if self._tasks and self._tasks[-1].hi is None:
                return
            begin = self._tasks[-1].hi if self._tasks else planner.cursor
            assert begin is not None
            held = planner.cursor
            planner.cursor = begin
            try:
                lo, hi = planner.current(edges)
            finally:
                planner.cursor = held
            dropped = threading.Event()
            how = WindowRead(
                self._fetch,
                self._count,
                self._settings,
                self._mode,
                dense_check=not planner.at_minimum,
                dropped=dropped.is_set,
            )
            result = self._pool.submit(how.read, lo, hi, merge_limit=not planner.at_minimum)
            self._tasks.append(_WindowTask(lo, hi, result, dropped))

    def drop_all(self) -> None:
        """Forget every window launched; their threads stop at their next page."""
        for task in self._tasks:
            task.dropped.set()
            task.result.cancel()
        self._tasks.clear()

    def close(self) -> None:
        """Stop reading ahead (the emitter is done, failed or was stopped)."""
        self.drop_all()
        self._pool.shutdown(wait=False, cancel_futures=True)


__all__ = [
    "CountWindow",
    "FetchPages",
    "HeldWindow",
    "OldestRecord",
    "Page",
    "PagingMode",
    "ReaderSettings",
    "Reconciliation",
    "WindowQuery",
    "read_windows",
]
