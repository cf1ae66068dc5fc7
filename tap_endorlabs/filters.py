"""The one place where Endor Labs filter expressions are built.

Rules from the API reference: dates must be wrapped in ``date(...)`` (a bare
ISO date silently matches nothing), enum literals may be bare, ``in [...]``
takes a list.  User-supplied extra filters are parenthesised before they are
ANDed in, so an ``or`` inside them cannot widen the query.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime

from tap_endorlabs.timestamps import filter_timestamp

_OR = re.compile(r"\bor\b|\|\|", re.IGNORECASE)
# A comparison with an unquoted ISO date that is not inside date(...).
_BARE_DATE = re.compile(
    r"(?:[<>]=?|==|!=)\s*(\d{4}-\d{2}-\d{2}(?:[T ][0-9:.]+(?:Z|[+-]\d{2}:?\d{2})?)?)"
)
COMPLETED_SCAN_STATUSES = ("STATUS_SUCCESS", "STATUS_PARTIAL_SUCCESS", "STATUS_FAILURE")


def time_range(field: str, lo: datetime | None, hi: datetime | None) -> str | None:
    """``lo <= field < hi`` (either bound optional), both cut to whole seconds.

    Whole seconds in UTC with ``Z`` are what the official clients send (see
    ``timestamps``).  Both bounds are cut the same way, so consecutive windows
    ``[a, b)`` and ``[b, c)`` still meet exactly; the lower bound may reach back
    under a second into what was already read, which the window reader skips.
    """
    parts = []
    if lo is not None:
        parts.append(f"{field} >= date({filter_timestamp(lo)})")
    if hi is not None:
        parts.append(f"{field} < date({filter_timestamp(hi)})")
    return " and ".join(parts) or None


def one_of(field: str, values: Iterable[str]) -> str:
    """``field in [a, b]``; values are quoted, so uuids and enums both work."""
    quoted = ", ".join(f'"{value}"' for value in values)
    return f"{field} in [{quoted}]"


def equals(field: str, value: str) -> str:
    """``field == "value"``; quoted like ``one_of``'s values."""
    return f'{field} == "{value}"'


def exists(field: str) -> str:
    """``field exists``."""
    return f"{field} exists"


def all_of(*parts: str | None) -> str | None:
    """AND the non-empty parts together.

    A part with an ``or`` is parenthesised so it cannot widen the query; plain
    conjunctions are not, because a time bound inside parentheses is not used
    to narrow the scan (it is evaluated row by row, and large windows time out).
    """
    present = [part.strip() for part in parts if part and part.strip()]
    if not present:
        return None
    return " and ".join(f"({part})" if _has_or(part) else part for part in present)


def _has_or(expression: str) -> bool:
    return bool(_OR.search(expression))


def unbalanced_parenthesis(expression: str) -> str | None:
    """What is wrong with the filter's parentheses (outside quotes), or None if they pair up.

    ``all_of`` puts a filter with an ``or`` in parentheses and ANDs it with the tap's own
    time window: ``a) or (b`` would step out of them and widen the query past the window.
    """
    depth, quote, escaped = 0, "", False
    for position, char in enumerate(expression, start=1):
        if quote:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == quote:
                quote = ""
            continue
        if char in "'\"":
            quote = char
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth < 0:
                return f"a ')' at character {position} closes nothing"
    if quote:
        return f"a {quote} quote is not closed"
    if depth:
        return f"{depth} '(' not closed"
    return None


def bare_date(expression: str) -> tuple[str, str] | None:
    """The first bare date compared in a filter, and how to write it; None if there is none.

    The API compares a bare date as text and silently matches nothing, so a
    filter like ``meta.create_time >= 2025-01-01`` would export nothing at all.
    """
    match = _BARE_DATE.search(expression)
    if match is None:
        return None
    text = match.group(1)
    moment = text if "T" in text or " " in text else f"{text}T00:00:00Z"
    return text, f"date({moment.replace(' ', 'T')})"
