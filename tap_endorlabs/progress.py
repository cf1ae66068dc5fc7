"""Progress of a long read, logged at a steady interval, one stream and namespace at a time.

A year's backfill otherwise prints nothing between its start and its end.
Every ``interval`` seconds (of the clock passed in, so tests need no sleeps)
one line says how far the read is: records so far, the time position reached,
the share of the time range done, the rate and an estimate of the time left.
Under Meltano each line is one log line of ``meltano run``'s output.

Without a start (no ``start_date``, no bookmark: "everything the API holds")
the range begins at the first record read, not at 1970: measured from 1970, a
read of the last year looked 99.7% done from its first record, "about 0s left".
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from tap_endorlabs.timestamps import normalize_timestamp, parse_timestamp


def _when(moment: datetime) -> str:
    """RFC 3339 to the second: what a reader needs of a position."""
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="seconds") + "Z"


def _duration(seconds: float) -> str:
    """``1h02m``, ``3m05s`` or ``42s``: short enough for a log line."""
    whole = int(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m"
    if minutes:
        return f"{minutes}m{secs:02d}s"
    return f"{secs}s"


class ReadProgress:
    """Counts the records of one stream in one namespace and logs where the read is."""

    def __init__(
        self,
        *,
        stream: str,
        namespace: str,
        start: datetime | None,
        end: datetime,
        interval: float,
        clock: Callable[[], float],
        logger: logging.Logger,
        position_of: Callable[[Any], Any],
    ) -> None:
        self.stream, self.namespace = stream, namespace
        self.start, self.end = start, end
        self.interval = interval
        self.clock = clock
        self.logger = logger
        self.position_of = position_of
        self.records = 0
        #: The latest record's time position (normalised RFC 3339 text), if it has one.
        self.position: str | None = None
        #: The first record's time, where the range begins when no start was given.
        self.first: datetime | None = None
        self._last: Any = None
        self.started_at = clock()
        self._next_log = self.started_at + interval
        self.lines = 0

    def begin(self) -> None:
        """Say which stream and namespace the read is starting, and from when."""
        self.logger.info(
            "Reading %s in namespace %s from %s",
            self.stream,
            self.namespace,
            _when(self.start) if self.start else "its oldest record (no start_date)",
        )

    @property
    def range_start(self) -> datetime | None:
        """Where the range measured begins: the start, else the first record's time."""
        return self.start if self.start is not None else self.first

    def record(self, record: Any) -> None:
        """Count one record; log a progress line when one is due.

        Its time position is read only when a line is logged: this runs per record.
        """
        self.records += 1
        self._last = record
        if self.records == 1 and self.start is None:
            raw = self.position_of(record)
            if raw:
                self.first = parse_timestamp(normalize_timestamp(str(raw)))
        if self.interval > 0 and self.clock() >= self._next_log:
            self.log()

    def share_done(self) -> float | None:
        """The share of ``[start, end)`` the position has reached, from 0 to 1."""
        begins = self.range_start
        if self.position is None or begins is None:
            return None
        total = (self.end - begins).total_seconds()
        if total <= 0:
            return None
        done = (parse_timestamp(self.position) - begins).total_seconds()
        return min(max(done / total, 0.0), 1.0)

    def line(self) -> str:
        """The progress line: records, position, share done, rate and time left."""
        elapsed = max(self.clock() - self.started_at, 1e-9)
        rate = self.records / elapsed
        share = self.share_done()
        where = _when(parse_timestamp(self.position)) if self.position else "no record time yet"
        parts = [
            f"Progress {self.stream} [{self.namespace}]: {self.records:,} records",
            f"at {where}",
        ]
        begins = self.range_start
        if share is not None and begins is not None:
            parts.append(f"{share:.1%} of {_when(begins)}..{_when(self.end)}")
        parts.append(f"{rate:,.0f} records/s")
        if share:
            parts.append(f"about {_duration(elapsed * (1 - share) / share)} left")
        return ", ".join(parts)

    def log(self) -> None:
        """Log the progress line now and schedule the next one."""
        raw = self.position_of(self._last) if self._last is not None else None
        if raw:
            self.position = normalize_timestamp(str(raw))
        self.logger.info("%s", self.line())
        self.lines += 1
        self._next_log = self.clock() + self.interval
