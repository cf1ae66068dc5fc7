"""Uploads on a bounded pool of threads, their results handed back on the caller's thread.

200 small day objects through an S3 answering each PUT in 60 ms took 5.85x
their time without that latency when written one after another
(``benchmarks/upload_latency.py``): the target waited on the network, not on
its CPU.  Here up to ``max_concurrent_uploads`` PUTs run at once.

What stays as it was:

* Nothing but the upload itself runs on a worker thread.  Each upload's
  ``done`` callback (which counts the object in the run summary, the
  manifest and the completeness proof) runs on the thread that submits or
  waits, so those observers need no locks and see objects one at a time.
* ``wait`` returns only when every upload submitted has succeeded; the sinks
  call it before ``process_batch`` returns and the target before any STATE
  goes out, so a state never passes an object still in flight.  When one
  fails, uploads not started are cancelled, those running are let finish (no
  file they read is closed under them), and the first failure is raised: the
  run ends with its one line and no state.
* Memory and disk: at most ``max_concurrent`` uploads are in flight;
  ``submit`` blocks while that many are, so the sink finishes (encodes) its
  next object only when a slot frees.  An object in flight is a file on disk
  (spool or temporary file), streamed to S3; only a multipart upload holds one
  part (``multipart_part_size_bytes``) in memory.
* Two uploads of one key never overlap (a scan's object rewritten with more
  findings): the later waits for the earlier, so the last written wins.
* The threads start at the first upload and end with the run
  (``RunContext.end`` calls ``shutdown``), not at the process's exit.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any

DEFAULT_MAX_CONCURRENT_UPLOADS = 8


class UploadPool:
    """At most ``max_concurrent`` jobs at once; callbacks on the submitting thread."""

    def __init__(self, max_concurrent: int = DEFAULT_MAX_CONCURRENT_UPLOADS) -> None:
        self.max_concurrent = max(1, int(max_concurrent))
        self._executor: ThreadPoolExecutor | None = None  # started at the first upload
        #: (future, key, done callback), in submission order.
        self._in_flight: list[tuple[Future[Any], str, Callable[[Any], None]]] = []
        self._failure: BaseException | None = None

    def submit(self, key: str, job: Callable[[], Any], done: Callable[[Any], None]) -> None:
        """Run ``job`` on the pool; ``done(result)`` is called later, on this thread.

        Blocks while ``max_concurrent`` uploads are in flight, or while an
        upload of the same ``key`` is.

        Raises:
            Exception: an earlier upload failed (its own error).
        """
        if self._failure is not None:
            raise self._failure
        self._reap(block=False)
        if any(in_flight_key == key for _, in_flight_key, _ in self._in_flight):
            self.wait()
        while len(self._in_flight) >= self.max_concurrent:
            self._reap(block=True)
        if self._executor is None:
            self._executor = ThreadPoolExecutor(
                max_workers=self.max_concurrent, thread_name_prefix="upload"
            )
        self._in_flight.append((self._executor.submit(job), key, done))

    def wait(self) -> None:
        """Return when every upload submitted has succeeded and been reported.

        Raises:
            Exception: the first upload that failed (the others have ended).
        """
        if self._failure is not None:
            raise self._failure
        while self._in_flight:
            self._reap(block=True)

    def settle(self) -> None:
        """Let every upload in flight end, raising nothing (before their files are closed)."""
        if self._in_flight:
            wait([future for future, _, _ in self._in_flight])

    @property
    def in_flight(self) -> int:
        """Uploads submitted and not yet reported."""
        return len(self._in_flight)

    def _reap(self, *, block: bool) -> None:
        """Report the uploads that ended (in submission order); raise the first failure."""
        if block and self._in_flight:
            wait([future for future, _, _ in self._in_flight], return_when=FIRST_COMPLETED)
        still: list[tuple[Future[Any], str, Callable[[Any], None]]] = []
        ended: list[tuple[Future[Any], Callable[[Any], None]]] = []
        for future, key, done in self._in_flight:
            if future.done():
                ended.append((future, done))
            else:
                still.append((future, key, done))
        self._in_flight = still
        for future, done in ended:
            error = future.exception()
            if error is not None:
                self._fail(error)
            done(future.result())

    def _fail(self, error: BaseException) -> None:
        """Cancel what has not started, let the rest end, and raise the first failure."""
        if self._failure is None:
            self._failure = error
        for future, _, _ in self._in_flight:
            future.cancel()
        self.settle()
        self._in_flight = []
        raise self._failure

    def shutdown(self) -> None:
        """Stop the threads (after ``wait`` or ``settle``)."""
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None
