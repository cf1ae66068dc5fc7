"""Reading a stream's time range window by window: plain functions over a page fetcher.

Nothing here speaks HTTP.  The caller hands in ``fetch``: "the pages of this
window of this store", raising ``WindowTooBigError`` (a 504, our read time-out)
or ``SortedPagingUnavailableError`` (a sorted page that cannot say where the
next starts).  The functions decide everything else:

- planning: adaptive windows (``windows.WindowPlanner``), cut at the archive
  seam's edges;
- splitting: after a deadline the rest of a window is halved and re-read from
  the last timestamp emitted, so a split costs neither a gap nor a duplicate;
- the seam merge and client-side ordering: a window read from both audit-log
  stores, or read unsorted, is held (bounded by ``SEAM_BUFFER_PAGES`` pages),
  de-duplicated by uuid and ordered before anything of it is emitted;
- de-duplication at split points and at the bookmark: what lies before the
  last emitted instant, or at it under a uuid already emitted, is skipped.

So every rule is unit-tested with a fake ``fetch`` in milliseconds
(tests/test_tap/test_window_reader.py).

With ``ahead`` > 1 the next windows are read in parallel (``ReadAhead``) while
the current one is emitted, and still emitted one after another, in order: the
records, the bookmarks and the state are those of a one-at-a-time run.  As in
Airbyte's concurrent CDK (``airbyte_cdk/sources/streams/concurrent/cursor.py``,
``ConcurrentCursor.stream_slices``: the cursor range cut into slices planned up
front; ``concurrent_source.py``: a bounded ``Queue`` the workers block on;
``thread_pool_manager.py``: a cap on tasks in flight, worker errors handed to
the main thread), windows are planned ahead of reading and memory is bounded
by queues, not by data.  Unlike it, records are not emitted as they arrive
(Airbyte then keeps state as a list of closed slice intervals): each window
has its own small queue and is emitted only once every window before it is,
so the Singer state stays one monotone bookmark that resumes anywhere.
Memory: ``ahead`` windows x ``PAGES_AHEAD_PER_WINDOW`` pages (plus the held
windows at the seam, ``SEAM_BUFFER_PAGES`` pages each).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from tap_endorlabs.errors import (
    BufferedWindowTooBigError,
    DeadlineExceededError,
    FatalTapError,
    RepeatedEarlyDeadlineError,
    SeamWindowTooBigError,
    SortedPagingUnavailableError,
    WindowTooBigError,
)
from tap_endorlabs.retry import DEFAULT_BUDGET_SECONDS, RetryPolicy
from tap_endorlabs.timestamps import format_timestamp, normalize_or, parse_timestamp
from tap_endorlabs.windows import WindowPlanner

#: Windows of at most this many pages count as cheap: the next one grows.
CHEAP_WINDOW_PAGES = 4
# A window read from both audit-log stores, or read unsorted (an API that does
# not page sorted lists), is held in memory and ordered before it is emitted;
# past this many pages' worth of records it is halved instead, so memory follows
# page_size, not the size of the backfill.
SEAM_BUFFER_PAGES = 20
#: Reading ahead, a window whose first page says it holds more than this many
#: pages is cut after that page: one window is paged one request after another,
#: so a dense one would be read at the speed of one request at a time.
DENSE_WINDOW_PAGES = 2 * CHEAP_WINDOW_PAGES
#: Pages a window read ahead may hold before its reader waits for the emitter.
PAGES_AHEAD_PER_WINDOW = 2
BACKOFF_BASE_SECONDS = 0.1

Page = list[dict[str, Any]]

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WindowQuery:
    """One store's part of one window: what ``fetch`` is asked for."""

    lo: datetime
    hi: datetime | None
    source: str
    #: Read by ``page_id`` without sort (the caller orders the window).
    unsorted: bool = False


#: "The pages of this window of this store", in the API's order.
FetchPages = Callable[[WindowQuery], Iterable[Page]]


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


def window_pages(
    fetch: FetchPages,
    lo: datetime,
    hi: datetime | None,
    settings: ReaderSettings,
    mode: PagingMode,
    *,
    merge_limit: bool = True,
) -> Iterator[Page]:
    """Pages of one window, in time order.

    Sorted by the API and streamed page by page where it can; held in memory
    and ordered here when the window reads both audit-log stores (the seam) or
    when the API does not page sorted lists (``mode.order_on_client``: read by
    ``page_id`` without sort, as the official SDK advises).  With
    ``merge_limit`` a held window that outgrows ``SEAM_BUFFER_PAGES`` pages
    raises before anything of it is emitted; the caller halves it and reads it
    again, so memory stays bounded by ``page_size``.

    Raises:
        BufferedWindowTooBigError: when a held window outgrows its buffer.
    """
    sources = settings.sources(lo, hi)
    if len(sources) == 1 and not mode.order_on_client:
        yield from fetch(WindowQuery(lo, hi, sources[0]))
        return
    limit = SEAM_BUFFER_PAGES * settings.page_size
    merged: dict[str, dict[str, Any]] = {}
    for source in sources:
        for objects in fetch(WindowQuery(lo, hi, source, unsorted=mode.order_on_client)):
            for obj in objects:
                merged.setdefault(str(obj.get("uuid")), obj)
            if merge_limit and len(merged) > limit:
                if len(sources) > 1:
                    raise SeamWindowTooBigError(f"more than {limit} records at the seam")
                raise BufferedWindowTooBigError(f"more than {limit} records to order")
    yield from ordered_pages(merged.values(), settings.time_field, settings.page_size)


def ordered_pages(
    objects: Iterable[dict[str, Any]], time_field: str, page_size: int
) -> Iterator[Page]:
    """``objects`` ordered by (time, uuid), handed on in pages of ``page_size``.

    In pages, so the planner sizes held windows by what they hold.
    """

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
) -> Iterator[dict[str, Any]]:
    """Every object from ``start`` on, ascending on the time field, each once.

    ``last_time`` and ``seen_at_last`` say what is out: everything before
    ``last_time``, and the uuids in ``seen_at_last`` at it.  They start at the
    bookmark with the uuids the state lists for it (``emitted_at_start``), so a
    run after a clean run emits nothing again.  Each window skips what lies
    before where it began, which its whole-second lower bound may reach back into.

    After a deadline (a 504, or no answer in time) the rest of the window is
    halved and re-read from the last timestamp emitted.  After a sorted page
    that cannot say where the next starts, the window is re-read from there by
    ``page_id`` without sort and ordered here, and so is every later window.

    With ``ahead`` > 1 up to that many windows are read at once (``ReadAhead``);
    a failure of a window read ahead is raised only when its turn comes, exactly
    where a one-at-a-time run meets it, and the windows after it are dropped and
    planned again.

    Raises:
        FatalTapError: when even the smallest window exceeds the deadline.
    """
    mode = mode if mode is not None else PagingMode()
    reading = ReadAhead(fetch, settings, mode, ahead) if ahead > 1 else None
    try:
        yield from _read(fetch, start, settings, emitted_at_start, mode, reading)
    finally:
        if reading is not None:
            reading.close()


def _read(  # noqa: PLR0917 - read_windows' own arguments, passed on
    fetch: FetchPages,
    start: datetime,
    settings: ReaderSettings,
    emitted_at_start: Iterable[str],
    mode: PagingMode,
    reading: ReadAhead | None,
) -> Iterator[dict[str, Any]]:
    """``read_windows``' loop (``reading``: the windows read ahead, if any)."""
    planner = WindowPlanner(start=start, end=None, size=settings.window_size, now=settings.now())
    # Normalised timestamps are fixed width: string order is time order, and
    # comparing strings spares a datetime per record.
    last_time = format_timestamp(start)
    seen_at_last: set[str] = set(emitted_at_start)
    stuck = 0
    stuck_since = 0.0
    time_field = settings.time_field
    while not planner.finished:
        if reading is None:
            lo, hi = planner.current(settings.edges())
            window: Iterable[Page] = window_pages(
                fetch, lo, hi, settings, mode, merge_limit=not planner.at_minimum
            )
        else:
            lo, hi, window = reading.next_window(planner)
        window_start = format_timestamp(lo)
        # Everything before this is out already (or before start).
        floor = min(last_time, window_start)
        pages = 0
        count = 0
        try:
            for objects in window:
                pages += 1
                count += len(objects)
                if pages == 1 and reading is not None:
                    narrower = dense_window_size(objects, lo, hi, settings, mode)
                else:
                    narrower = None
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
                # Cut only where the emitted records moved on: a page of records
                # at one instant, or already out, would be read again and again.
                if (
                    narrower is not None
                    and not planner.at_minimum
                    and parse_timestamp(last_time) > lo
                ):
                    raise _DenseWindow(narrower)
        except _DenseWindow as dense:
            # The first page is out; the rest of the window is planned again in
            # windows of a few pages each, read in parallel.
            assert reading is not None
            reading.drop_all()
            planner.narrow(max(parse_timestamp(last_time), lo), dense.size)
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
            planner.restart(max(parse_timestamp(last_time), lo))
            continue
        except WindowTooBigError as too_big:
            if reading is not None:
                reading.drop_all()
            last_at = parse_timestamp(last_time)
            resume = last_at if last_at > lo else lo
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
                resume, tried=tried, learn=not isinstance(too_big, RepeatedEarlyDeadlineError)
            )
            settings.logger.info(
                "%s on %s: window now %s (%s)",
                split_reason(too_big),
                settings.name,
                planner.size,
                too_big,
            )
            continue
        stuck = 0
        # Windows of a few pages amortise each query's fixed cost; grow until then.
        # Reading ahead, windows stay nearer two pages: more of them to read at once.
        cheap_pages = CHEAP_WINDOW_PAGES if reading is None else CHEAP_WINDOW_PAGES // 2
        planner.done(hi, cheap=pages <= cheap_pages)
        if reading is not None and hi is not None and count:
            # Sized by the density just seen (about two pages), not only doubled:
            # the windows launched next are read at once, so their size matters now.
            planner.resize((hi - lo) * (2 * settings.page_size) / count)


class _DenseWindow(Exception):  # a signal inside _read, never raised out of it
    """The window being emitted holds many pages: cut it, continue in windows of ``size``."""

    def __init__(self, size: timedelta) -> None:
        super().__init__(str(size))
        self.size = size


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
    ``lo``).  None for a window that looks small, or one held whole anyway (the
    seam, client-side ordering): there is nothing left to gain.
    """
    if len(first_page) < settings.page_size or mode.order_on_client:
        return None
    if len(settings.sources(lo, hi)) != 1:
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
    return per_page * CHEAP_WINDOW_PAGES


def split_reason(error: WindowTooBigError) -> str:
    """How the log names why a window was halved."""
    if isinstance(error, RepeatedEarlyDeadlineError):
        return "Two early 504s in a row"
    if isinstance(error, DeadlineExceededError):
        return "Deadline exceeded"
    if isinstance(error, SeamWindowTooBigError):
        return "Seam window over its buffer"
    return "Window over its buffer"


class _Failure:
    """An exception a window's reader met, handed to the emitter in the window's turn."""

    def __init__(self, error: BaseException) -> None:
        self.error = error


_END = object()


class _WindowTask:
    """One window read on a worker thread into a small bounded queue of pages."""

    def __init__(self, lo: datetime, hi: datetime | None) -> None:
        self.lo = lo
        self.hi = hi
        self.pages: queue.Queue[object] = queue.Queue(maxsize=PAGES_AHEAD_PER_WINDOW)
        self.dropped = threading.Event()

    def run(self, read: Callable[[], Iterable[Page]]) -> None:
        """Read the window's pages into the queue; stop early once dropped."""
        source = iter(read())
        try:
            for page in source:
                if not self._put(page):
                    return
            self._put(_END)
        except Exception as exc:  # raised again by the emitter, in order
            self._put(_Failure(exc))
        finally:
            close = getattr(source, "close", None)
            if close is not None:
                close()  # ends the page fetcher (its prefetch thread too)

    def _put(self, item: object) -> bool:
        """Queue ``item``, waiting for room; False once the window is dropped."""
        while not self.dropped.is_set():
            try:
                self.pages.put(item, timeout=0.05)
            except queue.Full:
                continue
            return True
        return False

    def drain(self) -> Iterator[Page]:
        """The window's pages as they arrive; its reader's failure raised in place."""
        while True:
            item = self.pages.get()
            if item is _END:
                return
            if isinstance(item, _Failure):
                raise item.error
            yield item  # type: ignore[misc]


class ReadAhead:
    """Windows read in parallel on ``ahead`` worker threads, handed out in order.

    The planner stays the emitter's: windows are planned here from where the
    last one launched ends, at the planner's size of the moment, and the
    planner moves on (``done``/``split``/``restart``) only as the emitter gets
    through them.  When the emitter meets a failure (a deadline, a sorted page
    without a token), every window launched after it is dropped and planned
    again from where the planner resumes.
    """

    def __init__(
        self, fetch: FetchPages, settings: ReaderSettings, mode: PagingMode, ahead: int
    ) -> None:
        self._fetch = fetch
        self._settings = settings
        self._mode = mode
        self._ahead = ahead
        self._tasks: list[_WindowTask] = []
        #: The window handed out last (its reader may still be filling its queue).
        self._current: _WindowTask | None = None
        self._pool = ThreadPoolExecutor(ahead, thread_name_prefix="window-reader")

    def next_window(
        self, planner: WindowPlanner
    ) -> tuple[datetime, datetime | None, Iterable[Page]]:
        """The planner's current window and its pages (read, or being read, ahead)."""
        if self._tasks and self._tasks[0].lo != planner.cursor:
            self.drop_all()  # the planner moved elsewhere: what was read ahead is stale
        self._fill(planner)
        task = self._current = self._tasks.pop(0)
        return task.lo, task.hi, task.drain()

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
            task = _WindowTask(lo, hi)
            merge_limit = not planner.at_minimum

            def read(
                lo: datetime = lo, hi: datetime | None = hi, merge_limit: bool = merge_limit
            ) -> Iterable[Page]:
                return window_pages(
                    self._fetch, lo, hi, self._settings, self._mode, merge_limit=merge_limit
                )

            self._pool.submit(task.run, read)
            self._tasks.append(task)

    def drop_all(self) -> None:
        """Forget every window launched (the one being emitted too); their threads stop soon."""
        for task in self._tasks:
            task.dropped.set()
        self._tasks.clear()
        if self._current is not None:
            self._current.dropped.set()

    def close(self) -> None:
        """Stop reading ahead (the emitter is done, failed or was stopped)."""
        self.drop_all()
        self._pool.shutdown(wait=False, cancel_futures=True)
