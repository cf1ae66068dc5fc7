"""The sink: decides which records go into which object, and when it is written.

Two kinds of objects (both pending objects, see ``pending.py``):

* a scan's findings object (records with a usable ``scan_context``), one per
  scan at ``<time>_<scan-uuid>``.  Open scans are kept by the run's
  ``ScanRegistry`` (``scans.py``), not by a sink, so any number of scans may
  be open at once, their findings interleaved, split by SCHEMA messages (the
  SDK then retires the sink and makes a new one) or by drains.  Every drain
  (batch full by records or bytes, age, a STATE, end of input) writes every
  open scan that got findings since its last upload: the object at the scan's
  key then holds every finding received so far, and the next write replaces
  it with a bigger one, so within a run no key holds fewer records than it
  did.  ``last: true`` writes the complete object and finishes the scan.
  A finding of a scan that already finished in this run (a tap that re-sends
  or marks ``last`` too early) never rewrites the complete object: it starts
  a continuation object at ``<time>_<scan-uuid>_<batch-id>``, kept like any
  open scan.
* time-partitioned batches (audit logs, any other stream, and the fallback for
  records missing layout fields): one object per day folder, written on drain
  under a unique batch id, so no object ever replaces another's data.

State: ``process_batch`` returns only after every upload succeeded, and the
SDK prints STATE only after draining every sink.  On top of that, while scans
are open the state printed is the newest one received *before the oldest open
scan's first finding* (``ScanRegistry.printable_state``): a state received in
the middle of a scan is held back until that scan's ``last`` finding is
written, because a run resumed from it would send only the scan's later
findings and write them alone at its key.  A scan still open at the end of
input is written as it stands, and the state before it is the one printed.
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
from target_s3_endor.encoding import DEFAULT_COMPRESSION_LEVEL, ObjectFormat
from target_s3_endor.errors import BadInputError
from target_s3_endor.ocsf_output import line_encoder, plan_for_stream
from target_s3_endor.pending import PendingObject, SpooledObject, batch_object
from target_s3_endor.scans import OpenScan, ScanRegistry
from target_s3_endor.streaming import BackgroundCompressor
from target_s3_endor.validation import RecordInvalid, SchemaError, validator_for

if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import IO

    from target_s3_endor.target import TargetS3Endor
    from target_s3_endor.transport import S3Writer

FINDINGS_STREAM = "findings"


@dataclass
class ObjectPlan:
    """What all sinks share: the key root, object formats, batch ids and the open scans."""

    root: str
    findings_format: ObjectFormat
    other_format: ObjectFormat
    spool_dir: str | None
    max_bytes: int
    tool_version: str
    compression_level: int = DEFAULT_COMPRESSION_LEVEL
    compressor: BackgroundCompressor = field(default_factory=BackgroundCompressor)
    scans: ScanRegistry = field(default_factory=ScanRegistry)
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex[:16])
    _sequence: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def next_batch_id(self) -> str:
        """Run id plus a sequence: unique across runs and processes, ordered within one."""
        return f"{self.run_id}-{next(self._sequence):06d}"


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
        # format: ocsf (ocsf_output.py): OCSF events for streams with a class, else JSON.
        self.plan = plan_for_stream(self.plan, stream_name)
        self._encode_line = line_encoder(self.plan, stream_name)
        self._partitions: dict[str, PendingObject] = {}
        # Every record is counted against its window and pending object (proof_writer.py).
        self._count_for_proof = target.proof_writer.count
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
        """Add the record to its scan's or its day partition's object."""
        line = self._encode_line(record)
        self._batch_bytes += len(line)
        is_findings = self.stream_name == FINDINGS_STREAM
        namespace = keys.dig(record, "tenant_meta", "namespace")
        if is_findings:
            place = keys.scan_place(record, self.plan.root)
            if place is not None:
                last = record["scan_context"].get("last") is True
                self._add_finding(place, line, namespace, last)
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
        pending = self._partitions.get(partition.folder)
        if pending is None:
            pending = self._new_partition(partition.moment)
            self._partitions[partition.folder] = pending
        pending.append(line)
        self._count_for_proof(self.stream_name, namespace, partition.folder)

    def _new_partition(self, first_time: datetime) -> PendingObject:
        """A day partition's batch object (streamed or spooled: ``pending.py`` decides)."""
        plan = self.plan
        return batch_object(
            first_time,
            plan.other_format,
            plan.other_format.member_name(self.stream_name),
            compressor=plan.compressor,
            level=plan.compression_level,
            spool_dir=plan.spool_dir,
            max_bytes=plan.max_bytes,
        )

    def _add_finding(
        self, place: keys.ScanPlace, line: bytes, namespace: object, last: bool
    ) -> None:
        scans = self.plan.scans
        scan = scans.get(place.scan_uuid) or self._open_scan(place)
        scans.append(scan, line)
        self._count_for_proof(self.stream_name, namespace, scan.key_stem)
        if last:
            self._upload_scan(scan)
            scans.finish(scan)

    def _open_scan(self, place: keys.ScanPlace) -> OpenScan:
        """A new scan object: at the scan's key, or a continuation if the scan finished."""
        plan = self.plan
        stem = place.key_stem
        if plan.scans.was_finished(place.scan_uuid):
            stem = keys.continuation_stem(stem, plan.next_batch_id())
            self.logger.warning(
                "A finding of scan %s arrived after the scan's last finding: the scan's "
                "object stays as written and later findings go to %s",
                place.scan_uuid,
                stem,
            )
        fmt = plan.findings_format
        pending = SpooledObject(
            datetime.now(UTC),
            fmt,
            fmt.member_name(self.stream_name),
            spool_dir=plan.spool_dir,
            level=plan.compression_level,
            sarif_options={"tool_version": plan.tool_version},
            releasable=True,
        )
        # The SDK's latest STATE: the newest one that may be printed while this scan is open.
        scan = OpenScan(place, stem, pending, state_before=self._target._latest_state)
        plan.scans.open(scan)
        return scan

    def _upload_scan(self, scan: OpenScan) -> None:
        """Write the scan's object with every finding so far, if it changed."""
        if not scan.changed:
            return
        records = scan.pending.records
        fmt = self.plan.findings_format
        key = scan.key_stem + fmt.extension
        self._put(self.plan.scans.body(scan), key, fmt, records, scan.key_stem)
        scan.uploaded_records = records

    def _put(
        self, body: IO[bytes], key: str, fmt: ObjectFormat, records: int, partition: str
    ) -> None:
        """Upload one object; then count it (run summary) and attribute it (proof)."""
        try:
            uri = self.writer.put(key, body, fmt.content_type)
            size = body.seek(0, io.SEEK_END)
        finally:
            body.close()
        self.logger.info("Wrote %d records to %s", records, uri)
        self._target.run_summary.wrote(self.stream_name, key, records, size)
        self._target.proof_writer.wrote(self.stream_name, partition, key, records)

    @override
    def process_batch(self, context: dict) -> None:
        """Write every partition and every open scan's findings so far.

        Returns only once all uploads succeeded; an upload error propagates and
        stops the target before any STATE for these records is written.
        """
        fmt = self.plan.other_format
        partitions, self._partitions = self._partitions, {}
        try:
            for folder, pending in partitions.items():
                stem = keys.batch_key_stem(folder, pending.first_time, self.plan.next_batch_id())
                self._put(pending.finish(), stem + fmt.extension, fmt, pending.records, folder)
        finally:
            for pending in partitions.values():
                pending.close()
        # Every open scan, whichever sink its findings came through: the state the
        # SDK prints after this drain must not cover a finding that is not in S3.
        for scan in self.plan.scans.open_scans():
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
        """Drop this sink's partitions (written by the last drain); open scans are the run's."""
        for pending in self._partitions.values():
            pending.close()
        self._partitions = {}
        super().clean_up()
