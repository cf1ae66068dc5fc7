"""The sink: decides which records go into which object, and when it is written.

Two kinds of objects:

* a scan's findings object (records with a usable ``scan_context``): its records
  spool until ``last: true`` arrives, then the complete object is written.  A
  drain before that (batch full, age, end of input) writes what the scan has so
  far at the same key and keeps the spool, so the complete object later replaces
  the partial one: one object per scan, never two.
* time-partitioned batches (audit logs, any other stream, and the fallback for
  records missing layout fields): one spool per day folder, written on drain
  under a unique batch id, so no object ever replaces another's data.

``process_batch`` returns only after every upload succeeded, so the SDK emits
STATE only for data that is in S3.
"""

from __future__ import annotations

import io
import itertools
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from singer_sdk.sinks import Sink
from typing_extensions import override

from target_s3_endor import keys
from target_s3_endor.encoding import (
    DEFAULT_COMPRESSION_LEVEL,
    ZIP64_ABOVE,
    ObjectFormat,
    encode_record,
    write_object,
)
from target_s3_endor.errors import BadInputError
from target_s3_endor.spool import Spool
from target_s3_endor.streaming import (
    MAX_STREAMING_OBJECTS,
    BackgroundCompressor,
    StreamingObject,
)
from target_s3_endor.validation import RecordInvalid, SchemaError, validator_for

if TYPE_CHECKING:
    from collections.abc import Sequence

    from target_s3_endor.target import TargetS3Endor
    from target_s3_endor.transport import S3Writer

FINDINGS_STREAM = "findings"


@dataclass
class ObjectPlan:
    """What all sinks share: the key root, object format and batch id source."""

    root: str
    findings_format: ObjectFormat
    other_format: ObjectFormat
    spool_dir: str | None
    max_bytes: int
    tool_version: str
    compression_level: int = DEFAULT_COMPRESSION_LEVEL
    compressor: BackgroundCompressor = field(default_factory=BackgroundCompressor)
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex[:16])
    _sequence: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def next_batch_id(self) -> str:
        """Run id plus a sequence: unique across runs and processes, ordered within one."""
        return f"{self.run_id}-{next(self._sequence):06d}"


@dataclass
class OpenScan:
    """A scan whose findings are still arriving."""

    place: keys.ScanPlace
    spool: Spool
    uploaded_records: int = 0


class S3EndorSink(Sink):
    """Spools a stream's records and writes them as Endor-layout objects."""

    def __init__(
        self,
        target: TargetS3Endor,
        stream_name: str,
        schema: dict,
        key_properties: Sequence[str] | None,
    ) -> None:
        self._target = target
        super().__init__(target, stream_name, schema, key_properties)
        self.plan: ObjectPlan = target.object_plan
        self._partitions: dict[str, Spool | StreamingObject] = {}
        self._scans: dict[str, OpenScan] = {}
        self._batch_bytes = 0
        self._batch_started = datetime.now(UTC)
        self._fallback_records = 0
        # Read once: is_full is asked after every record. The SDK's own
        # batch_size_rows means the same; when both are set the smaller wins.
        limits = (self.batch_size_rows, self.config.get("batch_max_records") or 10_000)
        self._max_records = min(int(limit) for limit in limits if limit)
        self._max_bytes = self.plan.max_bytes

    # Validation: jsonschema-rs instead of the SDK's slower validator, and no
    # datetime parsing: records are written back exactly as they came in.

    @override
    def get_validator(self) -> None:
        """Validation is done by ``_validate_and_parse``; see ``validation.py`` for how."""
        if not self.validate_schema:
            self._compiled = None
            return
        try:
            self._compiled = validator_for(self.schema)
        except SchemaError as exc:
            msg = (
                f"the SCHEMA of stream '{self.stream_name}' is not a valid JSON Schema ({exc}): "
                "fix the tap or set validate_records: false"
            )
            raise BadInputError(msg) from None

    @override
    def _validate_and_parse(self, record: dict) -> dict:
        """Check the record against its schema; leave every value as it arrived."""
        if self._compiled is not None:
            try:
                self._compiled(record)
            except RecordInvalid as exc:
                number = self._total_records_read + 1  # the SDK counts it after this check
                msg = (
                    f"record {number} of stream '{self.stream_name}' does not match "
                    f"its SCHEMA ({exc}): fix the tap or set validate_records: false"
                )
                raise BadInputError(msg) from None
        return record

    # Batch limits: records (SDK), bytes, age (target).

    @property
    @override
    def max_size(self) -> int:
        """Records per batch: ``batch_max_records`` (or the SDK's ``batch_size_rows``)."""
        return self._max_records

    @property
    @override
    def is_full(self) -> bool:
        """Full by records or by spooled bytes."""
        return self.current_size >= self._max_records or self._batch_bytes >= self._max_bytes

    @property
    def writer(self) -> S3Writer:
        """The shared S3 writer (created once, by the target)."""
        return self._target.s3_writer

    @override
    def process_record(self, record: dict, context: dict) -> None:
        """Spool the record into its scan's or its day partition's spool."""
        line = encode_record(record)
        self._batch_bytes += len(line)
        is_findings = self.stream_name == FINDINGS_STREAM
        if is_findings:
            place = keys.scan_place(record, self.plan.root)
            if place is not None:
                self._add_finding(place, line, record["scan_context"].get("last") is True)
                return
        partition = keys.time_partition(
            record,
            self.stream_name,
            self.plan.root,
            self._batch_started,
            missing_fields=is_findings,
        )
        if partition.fallback:
            self._fallback_records += 1
        spool = self._partitions.get(partition.folder)
        if spool is None:
            spool = self._new_partition(partition.moment)
            self._partitions[partition.folder] = spool
        spool.append(line)

    def _new_partition(self, first_time: datetime) -> Spool | StreamingObject:
        """A day partition's batch: compressed as it fills while the worker has room."""
        plan = self.plan
        if plan.compressor.open_objects >= MAX_STREAMING_OBJECTS:
            return Spool(first_time, plan.spool_dir)
        return StreamingObject(
            first_time,
            plan.other_format,
            plan.other_format.member_name(self.stream_name),
            compressor=plan.compressor,
            level=plan.compression_level,
            spool_dir=plan.spool_dir,
            # A partition ends within one record of batch_max_bytes; leave room for that.
            zip64=plan.max_bytes > ZIP64_ABOVE // 2,
        )

    def _add_finding(self, place: keys.ScanPlace, line: bytes, last: bool) -> None:
        scan = self._scans.get(place.scan_uuid)
        if scan is None:
            # Scans arrive one after another: a new scan means any open one is over.
            for other in list(self._scans.values()):
                self.logger.warning(
                    "Scan %s ended without a finding marked last; its object holds %d findings",
                    other.place.scan_uuid,
                    other.spool.records,
                )
                self._close_scan(other)
            scan = OpenScan(place, Spool(datetime.now(UTC), self.plan.spool_dir))
            self._scans[place.scan_uuid] = scan
        scan.spool.append(line)
        if last:
            self._close_scan(scan)

    def _close_scan(self, scan: OpenScan) -> None:
        """Write the scan's complete object (if it changed) and drop its spool."""
        self._upload_scan(scan)
        scan.spool.close()
        del self._scans[scan.place.scan_uuid]

    def _upload_scan(self, scan: OpenScan) -> None:
        if scan.spool.records == scan.uploaded_records:
            return
        fmt = self.plan.findings_format
        self._upload(scan.spool, scan.place.key_stem + fmt.extension, fmt)
        scan.uploaded_records = scan.spool.records

    def _upload(self, spool: Spool | StreamingObject, key: str, fmt: ObjectFormat) -> None:
        if isinstance(spool, StreamingObject):
            body = spool.finish()
        else:
            body = write_object(
                spool,
                fmt,
                fmt.member_name(self.stream_name),
                spool_dir=self.plan.spool_dir,
                sarif_options={"tool_version": self.plan.tool_version},
                level=self.plan.compression_level,
            )
        try:
            uri = self.writer.put(key, body, fmt.content_type)
            size = body.seek(0, io.SEEK_END)
        finally:
            body.close()
        self.logger.info("Wrote %d records to %s", spool.records, uri)
        self._target.run_summary.wrote(self.stream_name, key, spool.records, size)

    @override
    def process_batch(self, context: dict) -> None:
        """Write every spooled partition and every open scan's records so far.

        Returns only once all uploads succeeded; an upload error propagates and
        stops the target before any STATE for these records is written.
        """
        fmt = self.plan.other_format
        partitions, self._partitions = self._partitions, {}
        try:
            for folder, spool in partitions.items():
                stem = keys.batch_key_stem(folder, spool.first_time, self.plan.next_batch_id())
                self._upload(spool, stem + fmt.extension, fmt)
        finally:
            for spool in partitions.values():
                spool.close()
        for scan in list(self._scans.values()):
            self._upload_scan(scan)
        if self._fallback_records:
            self.logger.warning(
                "%d records of stream '%s' lack layout fields (tenant_meta.namespace or "
                "meta.create_time%s): written under %s/",
                self._fallback_records,
                self.stream_name,
                " or scan_context" if self.stream_name == FINDINGS_STREAM else "",
                keys.UNPARTITIONED,
            )
            self._fallback_records = 0
        self._batch_bytes = 0
        self._batch_started = datetime.now(UTC)

    @override
    def clean_up(self) -> None:
        """Drop spools at the end of input (their records were written by the last drain)."""
        for scan in self._scans.values():
            self.logger.warning(
                "Input ended before scan %s's last finding; its object holds %d findings",
                scan.place.scan_uuid,
                scan.spool.records,
            )
            scan.spool.close()
        self._scans = {}
        for spool in self._partitions.values():
            spool.close()
        self._partitions = {}
        super().clean_up()
