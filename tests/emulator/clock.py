"""The emulator's clock: an anchor, real elapsed time, and manual jumps.

Tests need "now" to be reproducible (``--now``) yet still move (token expiry,
the 30-day archive boundary, live data), and sometimes to jump (``/advance``).
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache

MICROS = 1_000_000


def parse_rfc3339_us(text: str) -> int:
    """Microseconds since the epoch for an RFC 3339 timestamp (``Z`` or offset)."""
    moment = datetime.fromisoformat(text.strip())
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    delta = moment - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86400 + delta.seconds) * MICROS + delta.microseconds


@lru_cache(maxsize=4096)
def _day(days: int) -> str:
    return (date(1970, 1, 1) + timedelta(days=days)).isoformat()


def format_us(us: int) -> str:
    """RFC 3339 UTC text; whole seconds carry no fraction, as Endor's own output varies.

    Arithmetic instead of strftime: the generator formats hundreds of thousands.
    """
    seconds, micros = divmod(us, MICROS)
    days, second_of_day = divmod(seconds, 86400)
    hours, rest = divmod(second_of_day, 3600)
    minutes, secs = divmod(rest, 60)
    base = f"{_day(days)}T{hours:02d}:{minutes:02d}:{secs:02d}"
    return f"{base}.{micros:06d}Z" if micros else f"{base}Z"


class Clock:
    """Anchor + monotonic elapsed time + whatever ``advance`` added."""

    def __init__(self, anchor_us: int | None = None) -> None:
        self._anchor_us = anchor_us if anchor_us is not None else int(time.time() * MICROS)
        self._start = time.monotonic()
        self._advanced_us = 0
        self._lock = threading.Lock()

    @property
    def anchor_us(self) -> int:
        """The anchor: generated data is laid out relative to it, so it is reproducible."""
        return self._anchor_us

    def now_us(self) -> int:
        """The current emulator time in microseconds since the epoch."""
        with self._lock:
            elapsed = int((time.monotonic() - self._start) * MICROS)
            return self._anchor_us + elapsed + self._advanced_us

    def advance(self, seconds: float) -> None:
        """Jump forward (never backward: stored data is ordered by time)."""
        if seconds < 0:
            raise ValueError("seconds must be >= 0")
        with self._lock:
            self._advanced_us += int(seconds * MICROS)
