"""Work on the next items started ahead on worker threads, handed out one item after another.

``in_order(items, produce, ahead)`` runs ``produce(item)`` (an iterable of
chunks: pages, batches of records) for up to ``ahead`` items at once, each into
a small bounded queue, and yields every item with its chunks in the items'
order.  The consumer therefore sees exactly what a one-at-a-time loop
``for item in items: yield item, produce(item)`` gives, only sooner: the tap
reads each scan's findings, and each namespace's records, this way, so records
and state do not depend on ``max_concurrent_requests``.  The API client's own
semaphore keeps the requests in flight within that setting, whatever the
number of threads waiting on it.

A failure is raised where the one-at-a-time loop would meet it: a ``produce``
failure when its item's chunks are read, a failure to pull the next item
after every item before it is handed out.  Memory: ``ahead`` items x
``buffer`` chunks.  Closing the generator (the consumer stopped or failed)
drops everything started, and the workers end at their next chunk.
"""

from __future__ import annotations

import queue
import threading
from collections import deque
from collections.abc import Callable, Generator, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")

#: Seconds a worker waits on a full queue before it looks whether it was dropped.
_POLL_SECONDS = 0.05


class _Failure:
    """An exception a worker met, raised again by the consumer in its item's turn."""

    def __init__(self, error: BaseException) -> None:
        self.error = error


_END = object()


class _Task(Generic[T, R]):
    """One item's ``produce`` run on a worker, into a bounded queue."""

    def __init__(self, item: T, buffer: int) -> None:
        self.item = item
        self.chunks: queue.Queue[object] = queue.Queue(maxsize=max(1, buffer))
        self.dropped = threading.Event()

    def run(self, produce: Callable[[T], Iterable[R]]) -> None:
        """Put the item's chunks in the queue; stop early once dropped."""
        source: Iterable[R] | None = None
        try:
            source = produce(self.item)
            for chunk in source:
                if not self._put(chunk):
                    return
            self._put(_END)
        except BaseException as exc:  # raised again by the consumer, in order
            self._put(_Failure(exc))
        finally:
            close = getattr(source, "close", None)
            if close is not None:
                close()  # a generator's own clean-up (paging threads) runs here

    def _put(self, chunk: object) -> bool:
        while not self.dropped.is_set():
            try:
                self.chunks.put(chunk, timeout=_POLL_SECONDS)
            except queue.Full:
                continue
            return True
        return False

    def drain(self) -> Iterator[R]:
        """The chunks as they arrive; the worker's failure raised in place."""
        while True:
            chunk = self.chunks.get()
            if chunk is _END:
                return
            if isinstance(chunk, _Failure):
                raise chunk.error
            yield chunk  # type: ignore[misc]


def in_order(
    items: Iterable[T],
    produce: Callable[[T], Iterable[R]],
    ahead: int,
    *,
    buffer: int = 2,
    name: str = "read-ahead",
) -> Generator[tuple[T, Iterator[R]], None, None]:
    """Each item with its chunks, in order, ``produce`` running for ``ahead`` items at once.

    With ``ahead`` <= 1 nothing runs on a thread: ``produce`` is called as the
    consumer reaches each item.  A consumer that leaves an item's chunks
    unread before asking for the next item drops the rest of them.
    """
    if ahead <= 1:
        for item in items:
            chunks = iter(produce(item))
            try:
                yield item, chunks
            finally:
                close = getattr(chunks, "close", None)
                if close is not None:
                    close()
        return
    yield from _ahead(iter(items), produce, ahead, buffer, name)


def _ahead(
    source: Iterator[T],
    produce: Callable[[T], Iterable[R]],
    ahead: int,
    buffer: int,
    name: str,
) -> Generator[tuple[T, Iterator[R]], None, None]:
    pool = ThreadPoolExecutor(ahead, thread_name_prefix=name)
    started: deque[_Task[T, R]] = deque()
    pulled_all = False
    pull_error: BaseException | None = None

    def fill(limit: int) -> None:
        nonlocal pulled_all, pull_error
        while len(started) < limit and not pulled_all and pull_error is None:
            try:
                item = next(source)
            except StopIteration:
                pulled_all = True
                return
            except Exception as exc:  # raised once every item before it is out
                pull_error = exc
                return
            task: _Task[T, R] = _Task(item, buffer)
            pool.submit(task.run, produce)
            started.append(task)

    current: _Task[T, R] | None = None
    try:
        while True:
            fill(ahead)
            if not started:
                if pull_error is not None:
                    raise pull_error
                return
            current = started.popleft()
            # The item handed out counts as one of ``ahead``: the rest start now.
            fill(ahead - 1)
            yield current.item, current.drain()
            current.dropped.set()
            current = None
    finally:
        if current is not None:
            current.dropped.set()
        for task in started:
            task.dropped.set()
        pool.shutdown(wait=False, cancel_futures=True)
        close = getattr(source, "close", None)
        if close is not None:
            close()
