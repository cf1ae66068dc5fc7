"""The ``layout: security-lake`` sink: one Parquet object per (source, event day) and batch.

Records are mapped to OCSF (``ocsf.py``), spooled per Security Lake source and
event day (``parquet.py``) and written on drain at the key ``security_lake.py``
composes, through the run's one upload path (``upload.py``), so the run summary,
the manifest and observers see every Parquet object.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from typing_extensions import override

from target_s3_endor.batching.upload import UploadingSink
from target_s3_endor.errors import BadInputError
from target_s3_endor.formats.ocsf import mapper_for
from target_s3_endor.formats.parquet import CONTENT_TYPE, ParquetObject
from target_s3_endor.input.signals import exported_record
from target_s3_endor.layouts.security_lake import (
    event_day,
    event_moment,
    object_key,
    source_names,
)
from target_s3_endor.naming import dig

if TYPE_CHECKING:
    from collections.abc import Sequence

    from singer_sdk.target_base import Target


class SecurityLakeSink(UploadingSink):
    """Maps records to OCSF and writes one Parquet object per (source, event day) and batch."""

    def __init__(
        self,
        target: Target,
        stream_name: str,
        schema: dict,
        key_properties: Sequence[str] | None,
    ) -> None:
        super().__init__(target, stream_name, schema, key_properties)
        mapper = mapper_for(stream_name)
        if mapper is None:
            msg = (
                f"stream {stream_name!r} has no OCSF class, and layout: security-lake writes "
                "only OCSF: deselect it in the tap (meltano select) or use layout: endor"
            )
            raise BadInputError(msg)
        self._ocsf_mapper = mapper
        settings = self.run.settings  # layout: security-lake's rule made region and account set
        self._names = source_names(settings.security_lake_source_names)
        self._region = str(settings.region)
        self._account = str(settings.security_lake_account_id)
        self._objects: dict[tuple[str, str], ParquetObject] = {}

    @override
    def process_record(self, record: dict, context: dict) -> None:
        """Map the record and spool the event in its source's object for its event day."""
        record, _ = exported_record(record)
        event = self._ocsf_mapper(record, datetime.now(UTC), self.stream_name)
        class_uid = int(event["class_uid"])
        source = self._names[(self.stream_name, class_uid)]
        day = event_day(event["time"])
        parquet = self._objects.get((source, day))
        if parquet is None:
            parquet = ParquetObject(class_uid, self.run.spool_dir)
            self._objects[(source, day)] = parquet
        before = parquet.bytes
        parquet.append(event)
        self._batch_bytes += parquet.bytes - before
        namespace = dig(record, "tenant_meta", "namespace")
        self._count_for_proof(self.stream_name, namespace, self._pending_name(f"{source}/{day}"))

    @override
    def process_batch(self, context: dict) -> None:
        """Write every object of the batch; returns only when all are in S3."""
        objects, self._objects = self._objects, {}
        self._upload_drain(objects, self._put_parquet)

    def _put_parquet(self, source_day: tuple[str, str], parquet: ParquetObject) -> None:
        """Hand one (source, event day)'s Parquet object to the uploads at its key."""
        source, day = source_day
        assert parquet.first_time_ms is not None
        key = object_key(
            source,
            region=self._region,
            account=self._account,
            day=day,
            first_time_ms=parquet.first_time_ms,
            batch=self.run.next_batch_id(),
        )
        last_ms = parquet.last_time_ms
        self._put(
            parquet.finish(),
            key,
            CONTENT_TYPE,
            partition=source,
            records=parquet.records,
            first_time=event_moment(parquet.first_time_ms),
            last_time=None if last_ms is None else event_moment(last_ms),
            pending=self._pending_name(f"{source}/{day}"),
        )

    @override
    def clean_up(self) -> None:
        for parquet in self._objects.values():
            parquet.close()
        self._objects = {}
        super().clean_up()
