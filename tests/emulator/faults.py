"""Fault injection (status codes, broken bodies, slowness) and a per-token rate limit.

A rule fires either a fixed number of ``times`` or with probability ``rate``
drawn from its own seeded RNG, so a fault campaign replays identically.
The auth endpoint is only faulted by rules whose ``path`` names it, so a
blanket ``500:0.3`` exercises data requests without blocking every login.
"""

from __future__ import annotations

import math
import random
import threading
import time
from dataclasses import dataclass
from typing import Any

FAULT_TYPES = ("429", "500", "503", "504", "reset", "truncate", "slow")
AUTH_PATH = "/v1/auth/api-key"


@dataclass
class FaultRule:
    """One kind of fault and when it fires."""

    type: str
    rate: float = 0.0
    times: int | None = None
    path: str | None = None

    def applies_to(self, path: str) -> bool:
        """Whether this rule may fire for a request path."""
        if self.path is None:
            return path != AUTH_PATH
        return self.path in path


def parse_fault_flag(text: str) -> FaultRule:
    """``TYPE:RATE[:PATH]`` (``RATE`` may be ``xN``: the next N matching requests)."""
    parts = text.split(":", 2)
    if len(parts) < 2 or parts[0] not in FAULT_TYPES:
        raise ValueError(
            f"--fault {text!r}: expected TYPE:RATE[:PATH], TYPE in {','.join(FAULT_TYPES)}"
        )
    path = parts[2] if len(parts) == 3 and parts[2] else None
    amount = parts[1]
    if amount.startswith("x") and amount[1:].isdigit():
        return FaultRule(parts[0], times=int(amount[1:]), path=path)
    try:
        rate = float(amount)
    except ValueError:
        raise ValueError(f"--fault {text!r}: RATE must be a number in [0, 1] or xN") from None
    if not 0.0 <= rate <= 1.0:
        raise ValueError(f"--fault {text!r}: RATE must be in [0, 1]")
    return FaultRule(parts[0], rate=rate, path=path)


def rule_from_json(item: Any) -> FaultRule:
    """A rule from the control endpoint's JSON; ValueError names what is wrong."""
    if not isinstance(item, dict) or str(item.get("type")) not in FAULT_TYPES:
        raise ValueError(f"fault {item!r}: 'type' must be one of {', '.join(FAULT_TYPES)}")
    rate = float(item.get("rate", 0.0))
    times = item.get("times")
    if times is not None and (not isinstance(times, int) or times < 0):
        raise ValueError(f"fault {item!r}: 'times' must be a non-negative integer")
    if not 0.0 <= rate <= 1.0:
        raise ValueError(f"fault {item!r}: 'rate' must be in [0, 1]")
    if times is None and rate == 0.0:
        raise ValueError(f"fault {item!r}: give 'rate' or 'times'")
    path = item.get("path")
    return FaultRule(str(item["type"]), rate=rate, times=times, path=str(path) if path else None)


class Faults:
    """The current fault set; ``pick`` decides, per request, which fault fires."""

    def __init__(
        self, rules: list[FaultRule], seed: int, retry_after: float, slow_delay: float
    ) -> None:
        self._lock = threading.Lock()
        self.rules = list(rules)
        self._rng = random.Random(seed)
        self.retry_after = retry_after
        self.slow_delay = slow_delay
        self.injected = 0
        self.by_type: dict[str, int] = {}

    def replace(
        self,
        rules: list[FaultRule],
        seed: int | None = None,
        retry_after: float | None = None,
        slow_delay: float | None = None,
    ) -> None:
        """Swap in a new fault set (the control endpoint)."""
        with self._lock:
            self.rules = list(rules)
            if seed is not None:
                self._rng = random.Random(seed)
            if retry_after is not None:
                self.retry_after = retry_after
            if slow_delay is not None:
                self.slow_delay = slow_delay

    def pick(self, path: str) -> FaultRule | None:
        """The fault to inject into this request, if any (and count it)."""
        with self._lock:
            for rule in self.rules:
                if not rule.applies_to(path):
                    continue
                if rule.times is not None:
                    if rule.times <= 0:
                        continue
                    rule.times -= 1
                elif self._rng.random() >= rule.rate:
                    continue
                self.injected += 1
                self.by_type[rule.type] = self.by_type.get(rule.type, 0) + 1
                return rule
        return None

    def count(self, kind: str) -> None:
        """Count a fault raised elsewhere (the rate limiter's 429s)."""
        with self._lock:
            self.injected += 1
            self.by_type[kind] = self.by_type.get(kind, 0) + 1

    def describe(self) -> list[dict[str, Any]]:
        """The current rules as JSON (``GET /_emulator/faults``)."""
        with self._lock:
            return [dict(vars(rule)) for rule in self.rules]


class RateLimiter:
    """A token bucket per bearer token: ``rate`` requests a second, bursts of ``rate``."""

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def admit(self, token: str) -> float | None:
        """None when the request may go on, else the seconds until it would."""
        if self.rate <= 0:
            return None
        now = time.monotonic()
        with self._lock:
            level, last = self._buckets.get(token, (self.rate, now))
            level = min(self.rate, level + (now - last) * self.rate)
            if level >= 1.0:
                self._buckets[token] = (level - 1.0, now)
                return None
            self._buckets[token] = (level, now)
            return (1.0 - level) / self.rate


def retry_after_header(seconds: float) -> str:
    """``Retry-After`` in seconds: an integer when whole, else with milliseconds (``0.05``).

    HTTP's delay-seconds are whole, but nothing documents Endor's header and a
    client must read a fraction too (``float``); a fraction lets tests meet a 429
    without sleeping a whole second each time.
    """
    millis = max(0, math.ceil(seconds * 1000))
    if millis % 1000 == 0:
        return str(millis // 1000)
    return f"{millis / 1000:.3f}".rstrip("0")
