"""The cost model: latency grows with the rows a query scans; deadlines cut it off.

It reproduces what makes the real audit-log API hard to page through: wide
queries are slow, and a query slower than its deadline (the ``Request-Timeout``
header, else the server default) fails with 504 "context deadline exceeded"
after the whole deadline has been spent.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from tests.emulator.errors import invalid

_TIMEOUT = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s)?\s*$")


@dataclass(frozen=True)
class CostModel:
    """Per-row cost, the archive penalty and the default deadline."""

    row_cost_us: float = 0.05
    archive_multiplier: float = 10.0
    default_deadline: float = 20.0
    base_latency: float = 0.0

    def latency(self, rows: int, *, archived_unfiltered: bool = False) -> float:
        """Seconds a query touching ``rows`` rows takes."""
        seconds = self.base_latency + rows * self.row_cost_us / 1_000_000
        return seconds * self.archive_multiplier if archived_unfiltered else seconds

    def deadline(self, header: str | None) -> float:
        """The request's deadline in seconds: ``Request-Timeout`` (``20``, ``20s``, ``500ms``)."""
        if header is None or not header.strip():
            return self.default_deadline
        match = _TIMEOUT.match(header)
        if not match:
            raise invalid(f"Request-Timeout {header!r} is not a duration (e.g. 20 or 20s)")
        value = float(match.group(1))
        return value / 1000 if match.group(2) == "ms" else value
