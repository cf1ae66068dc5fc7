"""The earliest and latest record time of an object, reported with it (``run.ObjectWritten``)."""

from __future__ import annotations

from datetime import datetime


class TimeSpan:
    """Earliest and latest record time seen, for ``ObjectWritten`` (two compares a record)."""

    __slots__ = ("first", "last")

    def __init__(self) -> None:
        self.first: datetime | None = None
        self.last: datetime | None = None

    def add(self, moment: datetime | None) -> None:
        """Widen the span to ``moment`` (None: a record without a time, ignored)."""
        if moment is None:
            return
        if self.first is None or moment < self.first:
            self.first = moment
        if self.last is None or moment > self.last:
            self.last = moment
