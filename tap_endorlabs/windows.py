"""Time handling for the incremental streams: timestamps, windows and the archive seam.

Queries cover half-open windows ``[lo, hi)`` on the stream's time field.  A
window grows after a cheap answer (one page) and halves when the API gives up
(504 "deadline exceeded"), so a sparse backfill takes few requests and a dense
one never asks for more than the API can sort in time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

# Re-exported: callers predating timestamps.py import them from here.
from tap_endorlabs.timestamps import format_timestamp, normalize_timestamp, parse_timestamp

# Audit logs stay in the active store this long, then move to the archive.
ACTIVE_RETENTION = timedelta(days=30)
# Windows this close to the archive boundary read both stores (see ``sources_for``).
# A day: the move to the archive is a background job, so a record a little older
# than 30 days may still sit in the active store.
SEAM_MARGIN = timedelta(days=1)
# The seam moves with the clock. A window is cut at a seam edge only if the edge
# is more than this ahead, and a window starting this close to the upper edge
# reads the active store alone: its records stay there for almost a day more.
# Otherwise each window would end where the edge was, the edge would have moved
# on by the time taken to read it, and the next window would be that sliver.
SEAM_SLACK = timedelta(minutes=10)

__all__ = [
    "ACTIVE_RETENTION",
    "SEAM_MARGIN",
    "SEAM_SLACK",
    "WindowPlanner",
    "format_timestamp",
    "normalize_timestamp",
    "parse_timestamp",
    "seam_edges",
    "sources_for",
]


@dataclass
class WindowPlanner:
    """Walks ``[start, end)`` (``end`` None: open-ended) in adaptive windows.

    ``current()`` gives the next window; ``done(hi, cheap=...)`` moves past it
    (doubling the next one when the window fit in a page); ``split(resume_at)``
    halves the window after a deadline, resuming where the records stopped.
    A size that timed out becomes a ceiling, so a dense stretch is not probed
    again and again; the ceiling relaxes after a few good windows, so one
    stray 504 does not shrink the rest of the run.
    """

    start: datetime
    end: datetime | None
    size: timedelta
    min_size: timedelta = timedelta(minutes=1)
    max_size: timedelta = timedelta(days=366)
    now: datetime | None = None
    relax_after: int = 4

    def __post_init__(self) -> None:
        self.cursor = self.start
        self.ceiling: timedelta | None = None
        self._good_streak = 0

    @property
    def finished(self) -> bool:
        """True once the cursor has reached the end."""
        return self.end is not None and self.cursor >= self.end

    def current(self, edges: Sequence[datetime] = ()) -> tuple[datetime, datetime | None]:
        """The next window ``(lo, hi)``; ``hi`` None when it runs past now (open-ended).

        An open last window catches records stamped by a server clock ahead of ours.
        A window does not cross one of ``edges`` (the archive seam's margins) that
        is more than ``SEAM_SLACK`` ahead, so the stretch between two edges is
        read apart from the stretches around it.
        """
        try:
            full = self.cursor + self.size
        except OverflowError:  # a bookmark near the end of year 9999 (a record's own time)
            full = datetime.max.replace(tzinfo=UTC)
        hi: datetime | None = full
        if self.end is not None and full >= self.end:
            hi = self.end
        elif self.end is None and self.now is not None and full > self.now:
            hi = None
        for edge in sorted(edges):
            if self.cursor < edge - SEAM_SLACK and (hi is None or edge < hi):
                return self.cursor, edge
        return self.cursor, hi

    def done(self, hi: datetime | None, *, cheap: bool) -> None:
        """Record that the window ending at ``hi`` is read; grow after a cheap one."""
        if hi is None:
            self.cursor = datetime.max.replace(tzinfo=UTC)
            self.end = self.cursor
            return
        self.cursor = hi
        self._good_streak += 1
        if self.ceiling is not None and self._good_streak >= self.relax_after:
            # Never past max_size: after a long run of good windows an unbounded
            # ceiling overflowed timedelta (days > 999999999) and stopped the stream.
            self.ceiling = min(self.ceiling * 2, self.max_size)
            self._good_streak = 0
        if cheap:
            limit = min(self.max_size, self.ceiling or self.max_size)
            self.size = max(min(self.size * 2, limit), self.size)

    @property
    def at_minimum(self) -> bool:
        """True when the window cannot be halved any further."""
        return self.size <= self.min_size

    def restart(self, resume_at: datetime) -> None:
        """Read the current window again from ``resume_at``, at the same size."""
        self.cursor = max(self.cursor, resume_at)

    def resize(self, size: timedelta) -> None:
        """Aim the next windows at ``size``: at most four times longer, within the ceiling."""
        limit = min(self.max_size, self.ceiling or self.max_size, self.size * 4)
        self.size = max(min(size, limit), self.min_size)

    def narrow(self, resume_at: datetime, size: timedelta) -> None:
        """Continue from ``resume_at`` in windows of ``size`` (the last one was dense).

        Unlike ``split`` no ceiling is set: the window was not too slow, only
        too long to read in one sequence of pages; quiet windows grow again.
        """
        self.cursor = max(self.cursor, resume_at)
        self.size = max(min(size, self.size), self.min_size)
        self._good_streak = 0

    def split(
        self, resume_at: datetime, tried: timedelta | None = None, *, learn: bool = True
    ) -> None:
        """Halve the window after a deadline; continue from ``resume_at``.

        ``tried`` is the length of the window that failed, when an edge cut it
        shorter than ``size``: halving that, not ``size``, is what makes the next
        attempt smaller.  With ``learn`` the halved size becomes the ceiling; a
        failure that says nothing about the size (``learn=False``) leaves the
        ceiling as it was, so the next good windows grow back at once.
        """
        base = min(self.size, tried) if tried is not None else self.size
        self.cursor = max(self.cursor, resume_at)
        self.size = max(base / 2, self.min_size)
        if learn:
            self.ceiling = self.size
            self._good_streak = 0


def seam_edges(boundary: datetime, margin: timedelta = SEAM_MARGIN) -> tuple[datetime, datetime]:
    """Where the stretch read from both stores begins and ends (see ``sources_for``)."""
    return boundary - margin, boundary + margin


def sources_for(
    lo: datetime, hi: datetime | None, boundary: datetime, margin: timedelta = SEAM_MARGIN
) -> tuple[str, ...]:
    """Which audit-log stores a window reads: ``archive``, ``active`` or both.

    Windows entirely older than ``boundary - margin`` are archived; windows
    starting at ``boundary + margin`` or later (less ``SEAM_SLACK``: a record
    there stays active for almost a day more) are active; windows touching the
    seam read the active store first, then the archive: a record moving between
    them while we read is in the archive by the time we look there, so none is
    missed, and the caller drops the duplicates by uuid.
    """
    if hi is not None and hi <= boundary - margin:
        return ("archive",)
    if lo >= boundary + margin - SEAM_SLACK:
        return ("active",)
    return ("active", "archive")
