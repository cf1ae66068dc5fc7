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

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from typing_extensions import override

from target_s3_endor import keys
from target_s3_endor.ocsf_output import format_for, line_encoder
from target_s3_endor.pending import PendingObject, SpooledObject, batch_object
from target_s3_endor.scans import OpenScan
from target_s3_endor.spans import TimeSpan
from target_s3_endor.upload import UploadingSink

if TYPE_CHECKING:
    from collections.abc import Sequence

    from singer_sdk.target_base import Target

FINDINGS_STREAM = "findings"


class S3EndorSink(UploadingSink):
    """Spools a stream's records and writes them as Endor-layout objects."""

    def __init__(
        self,
        target: Target,
        stream_name: str,
        schema: dict,
        key_properties: Sequence[str] | None,
    ) -> None:
        super().__init__(target, stream_name, schema, key_properties)
        # format: ocsf (ocsf_output.py): OCSF events for streams with a class, else JSON.
        self.other_format = format_for(self.run.other_format, stream_name)
        self._encode_line = line_encoder(self.other_format, stream_name)
        self._partitions: dict[str, PendingObject] = {}
        self._spans: dict[str, TimeSpan] = {}
        self._batch_bytes = 0
        self._batch_started = datetime.now(UTC)
        self._fallback_records = 0
        # Each record is counted against its window and pending object (proof_writer.py).
        self._count_for_proof = self.run.count_for_proof

    # Batch limits: records (SDK), bytes, age (target).

    @property
    @override
    def is_full(self) -> bool:
        """Full by records or by spooled bytes."""
        return self.current_size >= self._max_records or self._batch_bytes >= self._max_bytes

    @override
    def process_record(self, record: dict, context: dict) -> None:
        """Add the record to its scan's or its day partition's object."""
        line = self._encode_line(record)
        self._batch_bytes += len(line)
        is_findings = self.stream_name == FINDINGS_STREAM
        namespace = keys.dig(record, "tenant_meta", "namespace")
        if is_findings:
            place = keys.scan_place(record, self.run.root)
            if place is not None:
                last = record["scan_context"].get("last") is True
                self._add_finding(place, line, keys.record_time(record), namespace, last)
                return
        partition = keys.time_partition(
            record,
            self.stream_name,
            self.run.root,
            self._batch_started,
            missing_fields=is_findings,
        )
        if partition.fallback:
            self._fallback_records += 1
        pending = self._partitions.get(partition.folder)
        if pending is None:
            pending = self._new_partition(partition.moment)
            self._partitions[partition.folder] = pending
            self._spans[partition.folder] = TimeSpan()
        pending.append(line)
        self._spans[partition.folder].add(partition.moment)
        # A batch's key is named at upload, in this folder (keys.batch_key_stem).
        self._count_for_proof(self.stream_name, namespace, partition.folder)

    def _new_partition(self, first_time: datetime) -> PendingObject:
        """A day partition's batch object (streamed or spooled: ``pending.py`` decides)."""
        run = self.run
        return batch_object(
            first_time,
            self.other_format,
            self.other_format.member_name(self.stream_name),
            compressor=run.compressor,
            level=run.compression_level,
            spool_dir=run.spool_dir,
            max_bytes=run.max_bytes,
        )

    def _add_finding(
        self,
        place: keys.ScanPlace,
        line: bytes,
        moment: datetime | None,
        namespace: object,
        last: bool,
    ) -> None:
        scans = self.run.scans
        scan = scans.get(place.scan_uuid) or self._open_scan(place)
        scans.append(scan, line)
        scan.span.add(moment)
        # A scan's key is fixed from its first finding.
        key = scan.key_stem + self.run.findings_format.extension
        self._count_for_proof(self.stream_name, namespace, key)
        if last:
            self._upload_scan(scan)
            scans.finish(scan)

    def _open_scan(self, place: keys.ScanPlace) -> OpenScan:
        """A new scan object: at the scan's key, or a continuation if the scan finished."""
        run = self.run
        stem = place.key_stem
        if run.scans.was_finished(place.scan_uuid):
            stem = keys.continuation_stem(stem, run.next_batch_id())
            self.logger.warning(
                "A finding of scan %s arrived after the scan's last finding: the scan's "
                "object stays as written and later findings go to %s",
                place.scan_uuid,
                stem,
            )
        fmt = run.findings_format
        pending = SpooledObject(
            datetime.now(UTC),
            fmt,
            fmt.member_name(self.stream_name),
            spool_dir=run.spool_dir,
            level=run.compression_level,
            sarif_options={"tool_version": run.tool_version},
            releasable=True,
        )
        # The latest STATE: the newest one that may be printed while this scan is open.
        scan = OpenScan(place, stem, pending, state_before=self.host.latest_state())
        run.scans.open(scan)
        return scan

    def _upload_scan(self, scan: OpenScan) -> None:
        """Write the scan's object with every finding so far, if it changed."""
        if not scan.changed:
            return
        records = scan.pending.records
        fmt = self.run.findings_format
        key = scan.key_stem + fmt.extension
        self._put(
            self.run.scans.body(scan),
            key,
            fmt.content_type,
            partition=self._namespace_of(key),
            records=records,
            first_time=scan.span.first,
            last_time=scan.span.last,
        )
        scan.uploaded_records = records

    def _namespace_of(self, key: str) -> str:
        """The key's namespace segment (``_unpartitioned`` for the fallback folder)."""
        return key[len(self.run.root) + 1 :].split("/", 1)[0]

    @override
    def process_batch(self, context: dict) -> None:
        """Write every partition and every open scan's findings so far.

        Returns only once all uploads succeeded; an upload error propagates and
        stops the target before any STATE for these records is written.
        """
        fmt = self.other_format
        partitions, self._partitions = self._partitions, {}
        spans, self._spans = self._spans, {}
        try:
            for folder, pending in partitions.items():
                stem = keys.batch_key_stem(folder, pending.first_time, self.run.next_batch_id())
                key = stem + fmt.extension
                self._put(
                    pending.finish(),
                    key,
                    fmt.content_type,
                    partition=self._namespace_of(key),
                    records=pending.records,
                    first_time=spans[folder].first,
                    last_time=spans[folder].last,
                )
        finally:
            for pending in partitions.values():
                pending.close()
        # Every open scan, whichever sink its findings came through: the state the
        # SDK prints after this drain must not cover a finding that is not in S3.
        for scan in self.run.scans.open_scans():
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
        self._spans = {}
        super().clean_up()
