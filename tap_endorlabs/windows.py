"""Time handling for the incremental streams: timestamps, windows and the archive seam.

Queries cover half-open windows ``[lo, hi)`` on the stream's time field.  A
window grows after a cheap answer (one page) and halves when the API gives up
(504 "deadline exceeded"), so a sparse backfill takes few requests and a dense
one never asks for more than the API can sort in time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

# Audit logs stay in the active store this long, then move to the archive.
ACTIVE_RETENTION = timedelta(days=30)
# Windows this close to the archive boundary read both stores (see ``sources_for``).
SEAM_MARGIN = timedelta(hours=1)


def parse_timestamp(value: str) -> datetime:
    """Parse an RFC 3339 timestamp or a plain date into an aware UTC datetime.

    Raises:
        ValueError: if ``value`` is neither.
    """
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def format_timestamp(moment: datetime) -> str:
    """Format a datetime the one way state and filters use it (fixed width, so it sorts)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def normalize_timestamp(value: str) -> str:
    """Re-format an API timestamp so that string order equals time order."""
    return format_timestamp(parse_timestamp(value))


@dataclass
class WindowPlanner:
    """Walks ``[start, end)`` (``end`` None: open-ended) in adaptive windows.

    ``current()`` gives the next window; ``done(full)`` moves past it (growing
    the next one when the window fit in a page); ``split(resume_at)`` halves the
    rest of the window after a deadline, resuming where the records stopped.
    """

    start: datetime
    end: datetime | None
    size: timedelta
    min_size: timedelta = timedelta(seconds=1)
    max_size: timedelta = timedelta(days=366)
    now: datetime | None = None

    def __post_init__(self) -> None:
        self.cursor = self.start

    @property
    def finished(self) -> bool:
        """True once the cursor has reached the end."""
        return self.end is not None and self.cursor >= self.end

    def current(self) -> tuple[datetime, datetime | None]:
        """The next window ``(lo, hi)``; ``hi`` None when it runs past now (open-ended).

        An open last window catches records stamped by a server clock ahead of ours.
        """
        hi = self.cursor + self.size
        if self.end is not None and hi >= self.end:
            return self.cursor, self.end
        if self.end is None and self.now is not None and hi > self.now:
            return self.cursor, None
        return self.cursor, hi

    def done(self, hi: datetime | None, *, cheap: bool) -> None:
        """Record that the window ending at ``hi`` is read; grow after a cheap one."""
        if hi is None:
            self.cursor = datetime.max.replace(tzinfo=UTC)
            self.end = self.cursor
            return
        self.cursor = hi
        if cheap:
            self.size = min(self.size * 2, self.max_size)

    def split(self, resume_at: datetime) -> None:
        """Halve the window after a deadline; continue from ``resume_at``.

        Raises:
            ValueError: if the window is already at its minimum size.
        """
        if self.size <= self.min_size:
            msg = f"window of {self.size} still exceeds the API's deadline"
            raise ValueError(msg)
        self.cursor = max(self.cursor, resume_at)
        self.size = max(self.size / 2, self.min_size)


def sources_for(
    lo: datetime, hi: datetime | None, boundary: datetime, margin: timedelta = SEAM_MARGIN
) -> tuple[str, ...]:
    """Which audit-log stores a window reads: ``archive``, ``active`` or both.

    Windows entirely older than ``boundary - margin`` are archived; windows
    entirely newer than ``boundary + margin`` are active; windows touching the
    seam read the active store first, then the archive: a record moving between
    them while we read is in the archive by the time we look there, so none is
    missed, and the caller drops the duplicates by uuid.
    """
    if hi is not None and hi <= boundary - margin:
        return ("archive",)
    if lo >= boundary + margin:
        return ("active",)
    return ("active", "archive")
