"""The sink: decides which records go into which object, and when it is written.

Two kinds of objects (both pending objects, see ``pending.py``):

* a scan's findings object (records with a usable ``scan_context``), one per
  scan at ``<time>_<scan-uuid>``, written once.  Open scans are kept by the
  run's ``ScanRegistry`` (``scans.py``), not by a sink, so any number of scans
  may be open at once, their findings interleaved, split by SCHEMA messages
  (the SDK then retires the sink and makes a new one) or by drains.  A scan's
  findings wait in its spool on disk (memory holds a few hundred bytes per
  open scan) until its ``last: true`` finding, which writes the complete
  object and finishes the scan, or until the end of the input (or a stop
  signal), which writes every scan still open as it stands.  Drains (batch
  full by records or bytes, age, a STATE) do not touch open scans: the state
  printed after a drain is held back to before the oldest open scan (below),
  so it covers none of their findings.  Each scan is encoded and uploaded
  once, so its cost is linear in its findings whatever the batch size (it
  was encoded and uploaded again at every drain: a 30,000-finding scan with
  ``batch_max_records`` 1000 wrote its key 30 times, for 3.8x the CPU;
  ``benchmarks/scan_drains.py``).
  A finding of a scan that already finished in this run (a tap that re-sends
  or marks ``last`` too early) never rewrites the complete object: it starts
  a continuation object at ``<time>_<scan-uuid>_<batch-id>``, kept like any
  open scan.
* time-partitioned batches (audit logs, any other stream, and the fallback for
  records missing layout fields): one object per day folder, written on drain
  under a unique batch id, so no object ever replaces another's data.

State: ``process_batch`` returns only after every upload succeeded (they run
concurrently, ``storage/upload_pool.py``; a scan's object, handed over at its
``last`` finding, is waited for by the next drain or STATE), and the SDK
prints STATE only after draining every sink.  On top of that, while scans
are open the state printed is the newest one received *before the oldest open
scan's first finding* (``ScanRegistry.printable_state``): a state received in
the middle of a scan is held back until that scan's ``last`` finding is
written, because a run resumed from it would send only the scan's later
findings and write them alone at its key.  A scan still open at the end of
input is written as it stands (``write_open_scans``), and the state before it
is the one printed.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from typing_extensions import override

from target_s3_endor import naming
from target_s3_endor.batching.pending import PendingObject, SpooledObject, batch_object
from target_s3_endor.batching.scans import OpenScan
from target_s3_endor.batching.spans import TimeSpan
from target_s3_endor.batching.upload import UploadingSink
from target_s3_endor.formats.ocsf_output import format_for, line_encoder
from target_s3_endor.input.signals import exported_record
from target_s3_endor.layouts import endor

if TYPE_CHECKING:
    from collections.abc import Sequence

    from singer_sdk.target_base import Target

    from target_s3_endor.batching.run import RunContext

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
        self._batch_started = datetime.now(UTC)
        self._fallback_records = 0

    @override
    def process_record(self, record: dict, context: dict) -> None:
        """Add the record to its scan's or its day partition's object."""
        record, last = exported_record(record)
        line = self._encode_line(record)
        self._batch_bytes += len(line)
        is_findings = self.stream_name == FINDINGS_STREAM
        namespace = naming.dig(record, "tenant_meta", "namespace")
        if is_findings:
            place = endor.scan_place(record, self.run.root)
            if place is not None:
                self._add_finding(place, line, endor.record_time(record), namespace, last)
                return
        partition = endor.time_partition(
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
        # A batch's key is named at upload: the sink names the pending object instead.
        self._count_for_proof(self.stream_name, namespace, self._pending_name(partition.folder))

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
        place: endor.ScanPlace,
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

    def _open_scan(self, place: endor.ScanPlace) -> OpenScan:
        """A new scan object: at the scan's key, or a continuation if the scan finished."""
        run = self.run
        stem = place.key_stem
        if run.scans.was_finished(place.scan_uuid):
            stem = endor.continuation_stem(stem, run.next_batch_id())
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
        """Hand the scan's object, with every finding received, to the uploads (once per scan).

        Not waited for here: the next drain, STATE or proof waits for it.
        """
        upload_scan(self.run, scan, self.logger)

    def _namespace_of(self, key: str) -> str:
        """The key's namespace segment (``_unpartitioned`` for the fallback folder)."""
        return namespace_of(self.run.root, key)

    @override
    def process_batch(self, context: dict) -> None:
        """Write every partition and every open scan's findings so far.

        Returns only once all uploads succeeded; an upload error propagates and
        stops the target before any STATE for these records is written.
        """
        fmt = self.other_format
        partitions, self._partitions = self._partitions, {}
        spans, self._spans = self._spans, {}

        def put_partition(folder: str, pending: PendingObject) -> None:
            stem = endor.batch_key_stem(folder, pending.first_time, self.run.next_batch_id())
            key = stem + fmt.extension
            self._put(
                pending.finish(),
                key,
                fmt.content_type,
                partition=self._namespace_of(key),
                records=pending.records,
                first_time=spans[folder].first,
                last_time=spans[folder].last,
                pending=self._pending_name(folder),
            )

        # Every object of the drain (and scans handed over before it) in S3 on return.
        self._upload_drain(partitions, put_partition)
        # Open scans wait for their last finding (or the end of the input): the
        # state printed after this drain is held back to before the oldest of them.
        if self._fallback_records:
            self.logger.warning(
                "%d records of stream %r lack layout fields (tenant_meta.namespace or "
                "meta.create_time%s): written under %s/",
                self._fallback_records,
                self.stream_name,
                " or scan_context" if self.stream_name == FINDINGS_STREAM else "",
                endor.UNPARTITIONED,
            )
            self._fallback_records = 0
        self._batch_started = datetime.now(UTC)

    @override
    def clean_up(self) -> None:
        """Drop this sink's partitions (written by the last drain); open scans are the run's."""
        for pending in self._partitions.values():
            pending.close()
        self._partitions = {}
        self._spans = {}
        super().clean_up()


def namespace_of(root: str, key: str) -> str:
    """A key's namespace segment below ``root`` (``_unpartitioned`` for the fallback folder)."""
    return key[len(root) + 1 :].split("/", 1)[0]


def upload_scan(run: RunContext, scan: OpenScan, logger: logging.Logger) -> None:
    """Hand a scan's object with every finding received to the uploads, if any is new.

    Called once per scan: at its ``last`` finding, or for a scan still open at
    the end of the input (or a stop), by ``write_open_scans``.  The object is
    in S3 once ``run.wait_for_uploads()`` returns.
    """
    if not scan.changed:
        return
    records = scan.pending.records
    fmt = run.findings_format
    key = scan.key_stem + fmt.extension
    run.upload(
        run.scans.body(scan),
        key,
        fmt.content_type,
        stream=FINDINGS_STREAM,
        partition=namespace_of(run.root, key),
        records=records,
        first_time=scan.span.first,
        last_time=scan.span.last,
        logger=logger,
    )
    scan.uploaded_records = records


def write_open_scans(run: RunContext, logger: logging.Logger) -> None:
    """At the end of the input (or a stop): write every scan still open, as it stands.

    The scans stay open, so the state printed next is still the one from
    before the oldest of them: the next run sends those scans again.
    """
    for scan in run.scans.open_scans():
        upload_scan(run, scan, logger)
    run.wait_for_uploads()
