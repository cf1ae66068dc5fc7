"""What every sink of one run shares, and the one path by which an object reaches S3.

The SDK makes a sink per stream (and a new one at each SCHEMA), but a run has
one key root, one batch sequence, one background compressor, one registry of
open scans, one S3 writer and one summary.  They live here, in ``RunContext``,
which the target builds once and every sink reads through ``SinkHost``: sinks
depend on this small protocol, not on the target class, so nothing below the
target imports it.

``RunContext.upload`` is the only way an object is written: both sinks (the
Endor layout's and the Security Lake one) call it, so every object is counted
in the run summary and manifest, and reported to every observer registered
with ``on_object_written``.  An observer (the summary is the first) gets one
``ObjectWritten`` per object, after S3 acknowledged it and before any state
covering its records is printed; an observer that raises stops the run before
that state, like a failed upload.

Uploads run concurrently (``storage/upload_pool.py``, at most
``max_concurrent_uploads``): ``upload`` hands the object to the pool and
returns; observers are called on the main thread when the pool reports the
upload (at a later ``upload`` or at ``wait_for_uploads``), so they need no
locks.  ``wait_for_uploads`` returns only when every object handed over is
in S3 and reported: sinks call it before ``process_batch`` returns, the
target before every STATE, proof and manifest.
"""

from __future__ import annotations

import io
import itertools
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import IO, TYPE_CHECKING, Any, Protocol

from target_s3_endor.batching.scans import ScanRegistry
from target_s3_endor.batching.streaming import BackgroundCompressor
from target_s3_endor.formats.encoding import ObjectFormat
from target_s3_endor.settings.model import TargetSettings
from target_s3_endor.storage.upload_pool import UploadPool
from target_s3_endor.storage.written import ObjectObserver, ObjectWritten

if TYPE_CHECKING:
    from target_s3_endor.storage.transport import S3Writer


@dataclass
class RunContext:
    """The run's shared parts: key root, object formats, batch ids, scans, writer, observers."""

    root: str
    findings_format: ObjectFormat
    other_format: ObjectFormat
    tool_version: str
    writer: S3Writer
    #: The target's settings, built once (settings/model.py): what a sink reads of them.
    settings: TargetSettings
    compressor: BackgroundCompressor = field(default_factory=BackgroundCompressor)
    scans: ScanRegistry = field(default_factory=ScanRegistry)
    uploads: UploadPool = field(default_factory=UploadPool)
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex[:16])
    _sequence: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _observers: list[ObjectObserver] = field(default_factory=list)
    #: ``(stream, namespace, pending)``: a record went into the pending object the sink names
    #: ``pending`` (a scan's key, or a batch's own name, handed to ``upload`` with it).  The
    #: completeness proof (batching/proof.py) sets it; by default nothing is counted.
    count_for_proof: Callable[[str, Any, str], None] = field(default=lambda *_: None)

    @property
    def spool_dir(self) -> str | None:
        """Where batches are spooled (None: the system temporary directory)."""
        return self.settings.spool_dir

    @property
    def max_bytes(self) -> int:
        """A batch's spooled bytes that make it full (``batch_max_bytes``)."""
        return self.settings.batch_max_bytes

    @property
    def compression_level(self) -> int:
        """The zlib level of zip and gzip objects."""
        return self.settings.compression_level

    def next_batch_id(self) -> str:
        """Run id plus a sequence: unique across runs and processes, ordered within one."""
        return f"{self.run_id}-{next(self._sequence):06d}"

    def on_object_written(self, observer: ObjectObserver) -> None:
        """Call ``observer`` with every object this run writes from now on."""
        self._observers.append(observer)

    def upload(
        self,
        body: IO[bytes],
        key: str,
        content_type: str,
        *,
        stream: str,
        partition: str,
        records: int,
        first_time: datetime | None,
        last_time: datetime | None,
        pending: str | None = None,
        logger: logging.Logger | None = None,
    ) -> None:
        """Hand one object to the upload pool (which closes ``body``); report it once written.

        Returns at once, or once a pool slot is free; ``wait_for_uploads`` says
        when the object is in S3.  ``pending`` names the pending object for the
        proof (``ObjectWritten.pending``); ``logger`` gets the "Wrote ..." line.

        Raises:
            UploadError: an earlier upload failed (retries exhausted).
        """
        writer = self.writer

        def job() -> tuple[str, int]:
            try:
                uri = writer.put(key, body, content_type)
                return uri, body.seek(0, io.SEEK_END)
            finally:
                body.close()

        def done(result: tuple[str, int]) -> None:
            uri, size = result
            written = ObjectWritten(
                key, stream, partition, records, first_time, last_time, size, pending
            )
            for observer in self._observers:
                observer(written)
            if logger is not None:
                logger.info("Wrote %d records to %s", records, uri)

        try:
            self.uploads.submit(key, job, done)
        except BaseException:
            body.close()
            raise

    def wait_for_uploads(self) -> None:
        """Return once every object handed to ``upload`` is in S3 and reported.

        Raises:
            UploadError: an upload failed; nothing after it may be reported durable.
        """
        self.uploads.wait()

    def settle_uploads(self) -> None:
        """Let running uploads end without raising: before closing files they may read."""
        self.uploads.settle()

    def end(self) -> None:
        """At the end of the run: stop the upload and compression threads.

        Called after the last drain, once every state is out (so it changes nothing
        about when state is emitted).  Both pools start their threads at the first job
        and otherwise keep them idle until the process exits, which an in-process run
        (a test, an orchestrator embedding the target) never does.  Raises nothing: on
        a failed run the uploads still running are let finish, those queued cancelled.
        """
        self.uploads.settle()
        self.uploads.shutdown()
        self.compressor.shutdown()


class SinkHost(Protocol):
    """What a sink needs of the target: the run's shared parts and the latest state."""

    @property
    def run(self) -> RunContext:
        """The run's shared parts (built once)."""

    def latest_state(self) -> Any:
        """The newest STATE received (None: none yet)."""
