"""Jumping over the empty start of a long time range, proved by the API's count.

With no bookmark and no ``start_date`` a stream starts in 1970 (``client.EPOCH``);
walked in adaptive windows that is some 56 empty windows (a page and a count
each) before the first record: half a default run's requests, and ~17 s per
stream and namespace at 150 ms a request.

Before walking a range that starts more than ``PROBE_AFTER`` before now, the
reader asks each store the range reads for its oldest record from ``start`` on
(one sorted page, ascending on the time field, masked to the uuid and the
time: the API refuses ``page_id`` with a sort, and one page is all it needs),
takes ``t0``, the earliest of them (or the API's now less ``EMPTY_MARGIN`` when
every store is empty), and asks the count of ``[start, t0)`` in every store.
Only a count of 0 lets the walk begin at ``t0``: the sorted answer is a hint,
the count is the proof (the project's rule: trust the API's count, not the
shape of its pages).  The stretch then gets its own reconciliation, a window
proven empty, so ``--verify``'s time line has no hole.  Any other answer (a
count above 0, a refused or failed probe) leaves the walk where it was, with
one log line: at worst the run costs what it cost before, and a request or
two per store more.

Nothing here speaks HTTP: ``oldest`` and ``count`` are the caller's.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from tap_endorlabs.errors import FatalTapError, WindowTooBigError
from tap_endorlabs.timestamps import floor_to_second

#: A range starting longer ago than this (two of ``WindowPlanner.max_size``) is probed first.
PROBE_AFTER = timedelta(days=2 * 366)
#: With no record at all the walk begins this long before the API's now: the
#: proven stretch ends well before any record still arriving (and past
#: ``window_reader.SETTLE_MARGIN``, so its count is exact), and the walk's first
#: window (``window_hours``, 24 by default) is then its open last one.
EMPTY_MARGIN = timedelta(hours=1)
#: Page size of the probe: small (one record is all it needs), but not tiny: the
#: API reference warns that a very small page size on log resources is slow.
PROBE_PAGE_SIZE = 20

#: "The oldest record's time in this store from ``lo`` on", None when there is none.
OldestTime = Callable[[datetime, str], datetime | None]
#: "How many records this store holds in ``[lo, hi)``", by the API's count.
CountRange = Callable[[datetime, datetime, str], int]


class ProbeFailedError(Exception):
    """The probe's answer says nothing usable (e.g. no record carries a readable time)."""


@dataclass(frozen=True)
class EmptyPrefix:
    """``[lo, hi)`` holds no record in any of ``sources``: the API counted 0 at ``checked_at``."""

    lo: datetime
    hi: datetime
    sources: tuple[str, ...]
    checked_at: datetime


def find_empty_prefix(
    start: datetime,
    *,
    now: datetime,
    sources: tuple[str, ...],
    oldest: OldestTime,
    count: CountRange,
    logger: Any,
    name: str = "stream",
) -> EmptyPrefix | None:
    """The proven-empty stretch at the start of ``[start, now)``, or None: walk from ``start``.

    ``sources`` are every store a window of the range may read (both for the
    audit logs: the archive and the active store); the stretch must count 0 in
    each.  Failures of the probe are not the run's: the walk reads the same
    range as it always did.
    """
    if start >= now - PROBE_AFTER:
        return None
    limit = floor_to_second(now - EMPTY_MARGIN)
    try:
        found = [oldest(start, source) for source in sources]
        t0 = min([floor_to_second(moment) for moment in found if moment is not None] + [limit])
        if t0 <= start:
            return None
        # One store after another, in the reader's order (the active store before the
        # archive): a record moving to the archive meanwhile is counted there.
        counted = sum(count(start, t0, source) for source in sources)
    except (FatalTapError, WindowTooBigError, ProbeFailedError) as failed:
        logger.info(
            "%s: could not probe for the oldest record (%s); walking from %s",
            name,
            failed,
            start.isoformat(),
        )
        return None
    if counted:
        logger.warning(
            "%s: the API's oldest record from %s on is at %s, yet it counts %d before it; "
            "walking from %s",
            name,
            start.isoformat(),
            t0.isoformat(),
            counted,
            start.isoformat(),
        )
        return None
    return EmptyPrefix(start, t0, sources, now)
