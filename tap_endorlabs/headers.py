"""The server headers the tap reads (``Date``, ``Retry-After``), read so that they never crash it.

Headers pass through proxies and load balancers: they can be missing, repeated
(``requests`` joins repeated fields with ``", "``, and an HTTP date holds a comma
itself), malformed, naive (``-0000``) or absurd.  Each reader returns None when
it cannot make sense of a value, and the caller falls back (our own clock, our
own backoff); none raises.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

# RFC 9110's preferred date form (IMF-fixdate), found anywhere in a joined value.
_IMF_FIXDATE = re.compile(
    r"[A-Za-z]{3},\s*\d{1,2}\s+[A-Za-z]{3}\s+\d{4}\s+\d{1,2}:\d{2}:\d{2}\s*(?:GMT|UTC|[+-]\d{4})"
)
# A server clock further off ours than this is a broken header, not a skewed clock.
MAX_CLOCK_SKEW = timedelta(days=1)


def _one_date(text: str) -> datetime | None:
    try:
        moment = parsedate_to_datetime(text.strip())
    except (TypeError, ValueError, OverflowError, IndexError):
        return None
    if moment is None:
        return None
    if moment.tzinfo is None:  # "-0000": UTC by RFC 5322
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def http_date(value: str | None) -> datetime | None:
    """The first valid HTTP date in a header value (repeated fields included), else None."""
    if not value:
        return None
    whole = _one_date(value)
    if whole is not None and value.count(",") <= 1:
        return whole
    for match in _IMF_FIXDATE.finditer(value):
        found = _one_date(match.group(0))
        if found is not None:
            return found
    return whole


def server_now(date_header: str | None, now: datetime) -> datetime:
    """The server's clock from its ``Date`` header; ``now`` (ours) when it is unusable."""
    moment = http_date(date_header)
    if moment is None or abs(moment - now) > MAX_CLOCK_SKEW:
        return now
    return moment


def retry_after_seconds(value: str | None, now: datetime, cap: float) -> float | None:
    """The wait a ``Retry-After`` asks for (seconds or an HTTP date), within ``[0, cap]``.

    A repeated field (``"5, 5"``) counts by its first usable value; anything
    unreadable (negative, not a number, not a date) gives None, so the caller's
    own backoff applies.
    """
    if not value:
        return None
    for part in value.split(","):
        text = part.strip()
        if not text:
            continue
        try:
            seconds = float(text)
        except ValueError:
            break
        if math.isfinite(seconds) and seconds >= 0:
            return min(seconds, cap)
        if seconds == math.inf:
            return cap
        return None
    moment = http_date(value)
    if moment is None:
        return None
    return max(0.0, min((moment - now).total_seconds(), cap))
