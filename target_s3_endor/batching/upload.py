"""The base of both sinks: the run's shared parts, batch limits, and the one upload call.

``S3EndorSink`` (the Endor layout) and ``SecurityLakeSink`` (Parquet) differ in
which records go into which object; they write objects the same way, through
``UploadingSink._put`` and so ``RunContext.upload``: every object they write is
counted in the run summary and manifest and reported to the run's observers.
"""

from __future__ import annotations

import itertools
from datetime import datetime
from typing import IO, TYPE_CHECKING, cast

from typing_extensions import override

from target_s3_endor.input.sink_hooks import ValidatingSink

if TYPE_CHECKING:
    from collections.abc import Sequence

    from singer_sdk.target_base import Target

    from target_s3_endor.batching.run import RunContext, SinkHost

DEFAULT_BATCH_MAX_RECORDS = 10_000
_SINK_NUMBERS = itertools.count(1)


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
        limits = (
            self.batch_size_rows,
            self.config.get("batch_max_records") or DEFAULT_BATCH_MAX_RECORDS,
        )
        self._max_records = min(int(limit) for limit in limits if limit)
        self._max_bytes = self.run.max_bytes
        # Names this sink's pending objects for the completeness proof (batching/proof.py):
        # after a changed SCHEMA the SDK keeps the old sink, and its batches, until the next
        # drain, so two sinks of one stream may each hold an object for the same folder.
        self.pending_tag = f"#{next(_SINK_NUMBERS)}"

    @property
    @override
    def max_size(self) -> int:
        """Records per batch: ``batch_max_records`` (or the SDK's ``batch_size_rows``)."""
        return self._max_records

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
