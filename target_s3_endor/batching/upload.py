"""The base of both sinks: the run's shared parts, batch limits, proof counting, one upload path.

``S3EndorSink`` (the Endor layout) and ``SecurityLakeSink`` (Parquet) differ in
which records go into which object; the rest is here, once: when a batch is
full (records or spooled bytes), how each record is counted for the
completeness proof, and how a drain writes its objects, through
``UploadingSink._put`` and so ``RunContext.upload``: every object they write is
counted in the run summary and manifest and reported to the run's observers,
and a drain returns only once all of its objects are in S3.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import IO, TYPE_CHECKING, Protocol, TypeVar, cast

from typing_extensions import override

from target_s3_endor.input.sink_hooks import ValidatingSink

if TYPE_CHECKING:
    from collections.abc import Sequence

    from singer_sdk.target_base import Target

    from target_s3_endor.batching.run import RunContext, SinkHost

_SINK_NUMBERS = itertools.count(1)


class Closable(Protocol):
    """A pending object of a drain: its spool is released by ``close``."""

    def close(self) -> None:
        """Release the object's spool (and any file it holds)."""


Name = TypeVar("Name")
Pending = TypeVar("Pending", bound=Closable)


class UploadingSink(ValidatingSink):
    """A sink that writes whole objects through the run's one upload path."""

    def __init__(
        self,
        target: Target,
        stream_name: str,
        schema: dict,
        key_properties: Sequence[str] | None,
    ) -> None:
        super().__init__(target, stream_name, schema, key_properties)
        # The target is a SinkHost (run.py): sinks need its run and latest state, nothing else.
        self.host = cast("SinkHost", target)
        self.run: RunContext = self.host.run
        # Read once: is_full is asked after every record. The SDK's own
        # batch_size_rows means the same; when both are set the smaller wins.
        limits = (self.batch_size_rows, self.run.settings.batch_max_records)
        self._max_records = min(int(limit) for limit in limits if limit)
        self._max_bytes = self.run.max_bytes
        #: Bytes spooled for this batch (encoded lines, or Parquet's estimate): the
        #: subclass adds to it per record; a drain (``_upload_drain``) resets it.
        self._batch_bytes = 0
        #: ``(stream, namespace, pending object)``: each record is counted against its
        #: window and the object that will hold it (proof.py).  Bound once: called per record.
        self._count_for_proof = self.run.count_for_proof
        # Names this sink's pending objects for the completeness proof (batching/proof.py):
        # after a changed SCHEMA the SDK keeps the old sink, and its batches, until the next
        # drain, so two sinks of one stream may each hold an object for the same folder.
        self.pending_tag = f"#{next(_SINK_NUMBERS)}"

    @property
    @override
    def max_size(self) -> int:
        """Records per batch: ``batch_max_records`` (or the SDK's ``batch_size_rows``)."""
        return self._max_records

    @property
    @override
    def is_full(self) -> bool:
        """Full by records (``max_size``) or by spooled bytes (``batch_max_bytes``)."""
        return self.current_size >= self._max_records or self._batch_bytes >= self._max_bytes

    def _pending_name(self, folder: str) -> str:
        """This sink's name for its pending object in ``folder`` (its key is named at upload)."""
        return folder + self.pending_tag

    def _upload_drain(
        self, objects: Mapping[Name, Pending], put: Callable[[Name, Pending], None]
    ) -> None:
        """``put`` every object of a drain, then wait: returns only once all are in S3.

        An upload error propagates (no STATE covers these records).  Every object
        is closed, whatever happened, once no upload still reads its spool.
        """
        try:
            for name, pending in objects.items():
                put(name, pending)
            self.run.wait_for_uploads()
        finally:
            self.run.settle_uploads()  # no upload still reads a file closed here
            for pending in objects.values():
                pending.close()
        self._batch_bytes = 0

    def _put(
        self,
        body: IO[bytes],
        key: str,
        content_type: str,
        *,
        partition: str,
        records: int,
        first_time: datetime | None,
        last_time: datetime | None,
        pending: str | None = None,
    ) -> None:
        """Hand one object to the run's uploads (which close ``body``); counted once in S3.

        ``process_batch`` must end with ``self.run.wait_for_uploads()``.
        """
        self.run.upload(
            body,
            key,
            content_type,
            stream=self.stream_name,
            partition=partition,
            records=records,
            first_time=first_time,
            last_time=last_time,
            pending=pending,
            logger=self.logger,
        )
