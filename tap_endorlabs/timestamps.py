"""Timestamps as the API sends them and as the tap compares, stores and queries them.

The API's RFC 3339 times carry 0 to 9 fractional digits and ``Z`` or an offset
(the official example is ``2017-01-15T01:30:15.01Z``).  Compared as strings they
mis-order (``...:15Z`` sorts after ``...:15.01Z``), so every comparison, sort
and bookmark goes through ``normalize_timestamp``: UTC, exactly six fractional
digits, ``Z``.  Digits past the microsecond are cut, never rounded: the
normalised value of a time is never later than the time itself, so an inclusive
bookmark or lower bound taken from it can only include more, never skip.  Two
times within one microsecond normalise alike and count as one instant (the
uuids emitted at an instant tell them apart, see ``window_reader.read_windows``).

The state has held this six-digit form since the first release, and the SDK
checks that bookmarks only grow by comparing them as strings: a wider form would
compare below the old bookmarks and stop the stream, so the width stays.

Inside ``date(...)`` the tap sends whole seconds in UTC with ``Z``
(``2025-01-01T00:00:00Z``), as the official SDK does (``endorlabs`` on PyPI,
``src/endorlabs/filters/finding_categories.py``: ``_iso_z`` formats
``%Y-%m-%dT%H:%M:%SZ`` for ``meta.create_time>=date(...)``) and as the API
reference's examples do.  Whole seconds are cut towards the past, so a window's
lower bound may reach back under a second into records already emitted; the
window reader skips those (see ``window_reader.read_windows``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache

NORMALIZED_WIDTH = 27


def parse_timestamp(value: str) -> datetime:
    """Parse an RFC 3339 timestamp (any fraction, ``Z`` or offset) or a plain date, as UTC.

    A naive value is taken as UTC. Digits past the microsecond are dropped.

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
    """Format a datetime the one way state and comparisons use it (fixed width, so it sorts).

    ``isoformat``, not ``strftime``: glibc's ``%Y`` writes year 1 as ``1``, not
    ``0001``, and the string would then sort after every later year.
    """
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def normalize_timestamp(value: str) -> str:
    """Re-format an API timestamp so that string order equals time order.

    Runs for every record, so a value already in the fixed-width form
    (``2026-01-02T03:04:05.123456Z``, the usual case) is returned as is.

    Raises:
        ValueError: if ``value`` is not a timestamp.
    """
    if (
        len(value) == NORMALIZED_WIDTH
        and value[19] == "."
        and value[26] == "Z"
        and value[10] == "T"
        and value[20:26].isdigit()
    ):
        return value
    return _normalize_other(value)


@lru_cache(maxsize=4096)
def _normalize_other(value: str) -> str:
    # Cached: each record's time is normalised by the window reader and again for
    # its bookmark, and the API's usual 9-digit form misses the fast path above.
    return format_timestamp(parse_timestamp(value))


def normalize_or(value: object, default: str) -> str:
    """``normalize_timestamp(value)``, or ``default`` for a missing or unreadable time.

    A record whose time the tap cannot read is still exported (never lost); it
    is placed where its window starts and does not move the bookmark.
    """
    if not value:
        return default
    try:
        return normalize_timestamp(str(value))
    except (ValueError, OverflowError):
        return default


def filter_timestamp(moment: datetime) -> str:
    """The text inside ``date(...)``: UTC, whole seconds (cut towards the past), ``Z``."""
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="seconds") + "Z"


def floor_to_second(moment: datetime) -> datetime:
    """``moment`` without its fraction: the instant ``filter_timestamp`` names."""
    return moment.replace(microsecond=0)


def format_second(moment: datetime) -> str:
    """``moment`` floored to the second as RFC 3339 in UTC (``0001-01-01T00:00:00Z``).

    ``isoformat``, not ``strftime``: glibc's ``%Y`` writes year 1 as ``1``, which is not
    RFC 3339 (a ``start_date`` of year 1 gave reconciliations a ``window_start`` of
    ``1-01-01T00:00:00Z``).
    """
    return floor_to_second(moment).astimezone(UTC).replace(tzinfo=None).isoformat() + "Z"
