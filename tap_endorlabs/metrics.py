"""The SDK's record counter and sync timer, tagged with the partition they measure.

The SDK opens one counter and one timer for a whole stream and only re-tags
them as it moves from partition to partition, so with
``include_child_namespaces`` the ``record_count`` of every namespace was
logged under the last namespace's tag, and ``sync_duration`` timed all of them
under it.  These meters log what they measured for a partition when the next
one starts, so each namespace's count and time carry its own tag (and a
consumer that sums ``record_count`` per stream still gets the total).
"""

from __future__ import annotations

from time import time
from typing import Any

from singer_sdk.helpers import types
from singer_sdk.metrics import Counter, Point, Status, Tag, Timer, log


class PartitionCounter(Counter):
    """A record counter that logs each partition's count under that partition's tag."""

    def with_context(self, value: types.Context | None) -> None:
        """Log the count of the partition just finished, then count the next one."""
        if Tag.CONTEXT in self.tags and value != self.tags[Tag.CONTEXT]:
            self._pop()
        super().with_context(value)

    def _pop(self) -> None:
        # The point gets a copy of the tags: the next partition re-tags this meter
        # before a deferred log record (a queue handler, a test) is formatted.
        log(self.logger, Point("counter", self.metric, self.value, dict(self.tags)))
        self.value = 0
        self.last_log_time = time()


class PartitionTimer(Timer):
    """A sync timer that logs each partition's duration under that partition's tag."""

    def with_context(self, value: types.Context | None) -> None:
        """Log the time of the partition just finished, then time the next one."""
        if Tag.CONTEXT in self.tags and value != self.tags[Tag.CONTEXT]:
            # Reaching the next partition means the previous one succeeded.
            tags: dict[str, Any] = {**self.tags, Tag.STATUS: Status.SUCCEEDED}
            log(self.logger, Point("timer", self.metric, self.elapsed(), tags))
            self.start_time = time()
        super().with_context(value)


def partition_counter(counter: Counter) -> PartitionCounter:
    """The SDK's record counter (same metric, tags and interval), partition-aware."""
    return PartitionCounter(counter.metric, counter.tags, log_interval=counter.log_interval)


def partition_timer(timer: Timer) -> PartitionTimer:
    """The SDK's sync timer (same metric and tags), partition-aware."""
    return PartitionTimer(timer.metric, timer.tags)
