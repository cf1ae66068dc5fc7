"""The next namespaces (the SDK's partitions) read while the current one is emitted.

With ``include_child_namespaces`` the SDK syncs a stream one partition after
another.  Many namespaces hold a window or two each, so one at a time the run
waits on one request at a time however many ``max_concurrent_requests``
allows.  Here the partitions after the current one are planned (where each
starts, from its own bookmark: nothing the current one emits changes another
namespace's state) and read on worker threads (``read_ahead.in_order``), and
the SDK is handed each partition's records in its turn, so records and state
are those of a one-at-a-time run.

A partition whose plan no longer matches what the SDK asks for when its turn
comes (its start or the uuids emitted at it) is not used: the caller reads it
itself, as without read-ahead.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from tap_endorlabs.read_ahead import in_order

X = TypeVar("X")

#: Records (or other read items) handed from a namespace's reader to the emitter at once.
BATCH_ITEMS = 100
#: Batches a namespace read ahead may hold before its reader waits for the emitter.
BATCHES_AHEAD = 4


@dataclass(frozen=True)
class PartitionPlan:
    """One partition to read: its context, where it starts and what was emitted at its start."""

    context: dict[str, Any]
    start: datetime
    emitted_at_start: frozenset[str]
    #: What reads it (the stream, set up for this partition); not part of the plan's identity.
    reader: Any = field(default=None, compare=False)


def share_of(total: int, partitions: int) -> int:
    """Windows (or scans) each of ``partitions`` namespaces read at once reads ahead.

    Together about twice ``total`` (requests beyond it wait for the API
    client's slots), so the memory held is a small multiple of a single
    partition's; a lone partition keeps all ``total``.
    """
    at_once = max(1, min(total, partitions))
    return max(1, min(total, math.ceil(2 * total / at_once)))


def batched(items: Iterable[X], size: int) -> Iterator[list[X]]:
    """``items`` in lists of ``size``; what was read before a failure is handed on first."""
    batch: list[X] = []
    source = iter(items)
    try:
        while True:
            try:
                item = next(source)
            except StopIteration:
                break
            except Exception:
                if batch:
                    yield batch
                raise
            batch.append(item)
            if len(batch) >= size:
                yield batch
                batch = []
        if batch:
            yield batch
    finally:
        close = getattr(source, "close", None)
        if close is not None:
            close()


class PartitionsAhead:
    """Partitions read ahead in the SDK's order; ``take`` hands out the next one's items."""

    def __init__(
        self,
        plans: Iterator[PartitionPlan],
        read: Callable[[PartitionPlan], Iterable[Any]],
        ahead: int,
    ) -> None:
        self._reading = in_order(
            plans,
            lambda plan: batched(read(plan), BATCH_ITEMS),
            ahead,
            buffer=BATCHES_AHEAD,
            name="namespace-reader",
        )

    def take(self, plan: PartitionPlan) -> Iterator[Any] | None:
        """The items of the next partition if it is ``plan``'s; None if it is another.

        After None the caller reads the partition itself and closes this object.
        """
        try:
            planned, batches = next(self._reading)
        except StopIteration:
            return None
        if planned != plan:
            return None
        return (item for batch in batches for item in batch)

    def close(self) -> None:
        """Stop every partition read ahead (the stream ended, failed or was stopped)."""
        self._reading.close()
