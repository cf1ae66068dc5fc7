"""Objects compressed while their records arrive, on a second core.

Deflating a batch at drain time took ~31% of a run while the second core idled.
Here a time-partitioned batch is framed and compressed as it fills: the main
thread collects encoded records into ~256 KiB chunks and hands each to one
shared worker thread, which feeds it to the zip/gzip writer of
``containers.py`` (deflate and file writes release the GIL, so parsing and
validation go on meanwhile; see there why not ``zipfile``).  At drain
the object is finished (a few KiB left to deflate) and uploaded as before.

Memory stays bounded: at most ``MAX_PENDING_CHUNKS`` chunks wait for the
worker (the main thread blocks when it is that far ahead), and at most
``MAX_STREAMING_OBJECTS`` objects stream at once, each holding one zlib state
(~260 KiB); further day partitions in the same batch use a plain spool and are
compressed at drain, as before.
"""

from __future__ import annotations

import atexit
import threading
import weakref
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime
from typing import IO, Any

from target_s3_endor.formats.containers import open_member
from target_s3_endor.formats.encoding import ObjectFormat, framer_for
from target_s3_endor.temp_files import temporary_file

CHUNK_BYTES = 256 << 10
MAX_PENDING_CHUNKS = 8
MAX_STREAMING_OBJECTS = 16


# Objects not closed yet. A run that stops on an error (bad input, S3 refusing)
# leaves some open; closing them at exit lets their last job finish before the
# temporary file goes, rather than the worker writing to a closed file.
_OPEN_OBJECTS: weakref.WeakSet[StreamingObject] = weakref.WeakSet()


@atexit.register
def _close_abandoned_objects() -> None:
    for streaming_object in list(_OPEN_OBJECTS):
        streaming_object.close()


class BackgroundCompressor:
    """One worker thread that runs compression jobs in submission order.

    The thread starts with the first job (a run that streams no object starts
    none) and ends at ``shutdown``, when the run ends, rather than idling until
    the process exits.
    """

    def __init__(self, max_pending: int = MAX_PENDING_CHUNKS) -> None:
        self._executor: ThreadPoolExecutor | None = None
        self._slots = threading.BoundedSemaphore(max_pending)
        self.open_objects = 0

    def submit(self, job: Callable[[], None]) -> Future[None]:
        """Queue a job; blocks while ``max_pending`` jobs are still waiting (back-pressure)."""
        self._slots.acquire()
        try:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="compress")
            future = self._executor.submit(job)
        except BaseException:
            self._slots.release()
            raise
        future.add_done_callback(lambda _: self._slots.release())
        return future

    def shutdown(self) -> None:
        """End the worker once every queued job has run; a later job starts a new one.

        No job is cancelled: an object's ``close`` waits on its last job.
        """
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None


class StreamingObject:
    """A batch's object (framed, compressed) written as its records arrive.

    A pending object (see ``pending.py``) that can be finished once: records
    are compressed as they come, so nothing is left to re-encode a second time.
    """

    def __init__(
        self,
        first_time: datetime,
        object_format: ObjectFormat,
        member_name: str,
        *,
        compressor: BackgroundCompressor,
        level: int,
        spool_dir: str | None,
        zip64: bool,
    ) -> None:
        self.first_time = first_time
        self.records = 0
        self._framer = framer_for(object_format.format)
        self._compressor = compressor
        self._pending: list[bytes] = []
        self._pending_bytes = 0
        self._last_job: Future[None] | None = None
        self._error: BaseException | None = None
        self._closed = False
        self._out: IO[bytes] = temporary_file(spool_dir, "target-s3-endor-out-")
        self._member = open_member(
            self._out, object_format.compression, member_name, first_time, level, zip64=zip64
        )
        compressor.open_objects += 1
        _OPEN_OBJECTS.add(self)

    def append(self, line: bytes) -> None:
        """Add one encoded record (a JSON line ending in a newline)."""
        self._pending.append(line)
        self._pending_bytes += len(line)
        self.records += 1
        if self._pending_bytes >= CHUNK_BYTES:
            self._hand_over()

    def _hand_over(self) -> None:
        """Frame the collected lines and queue them for the worker."""
        if not self._pending:
            return
        data = self._framer.frame(b"".join(self._pending))
        self._pending, self._pending_bytes = [], 0
        self._queue(lambda: self._member.write(data))

    def _queue(self, action: Callable[[], Any]) -> None:
        def job() -> None:
            if self._error is not None:
                return
            try:
                action()
            except BaseException as exc:  # re-raised in the main thread by finish()
                self._error = exc

        self._last_job = self._compressor.submit(job)

    def _wait(self) -> None:
        if self._last_job is not None:
            self._last_job.result()
        if self._error is not None:
            raise self._error

    def finish(self) -> IO[bytes]:
        """Complete the object and return it rewound; the caller closes it (see ``close``)."""
        self._hand_over()
        if tail := self._framer.end():
            self._queue(lambda: self._member.write(tail))
        self._queue(self._member.close)
        self._wait()
        self._out.flush()
        self._out.seek(0)
        return self._out

    def close(self) -> None:
        """Delete the temporary file once the worker is done with it."""
        if self._closed:
            return
        self._closed = True
        _OPEN_OBJECTS.discard(self)
        self._compressor.open_objects -= 1
        try:
            if self._last_job is not None:
                self._last_job.exception()  # wait; errors were reported by finish()
        finally:
            self._out.close()
