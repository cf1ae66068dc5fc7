"""One short class per Endor Labs stream."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Iterator, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from singer_sdk import SchemaDirectory, StreamSchema
from typing_extensions import override

from tap_endorlabs.api import Subject
from tap_endorlabs.client import EndorStream, ReadItem
from tap_endorlabs.filters import COMPLETED_SCAN_STATUSES, all_of, exists, one_of
from tap_endorlabs.pagination import ListQuery
from tap_endorlabs.read_ahead import in_order
from tap_endorlabs.reconciliation import FindingsTally, ScanReconciliation, verified_objects
from tap_endorlabs.scan_context import build_scan_context
from tap_endorlabs.scan_findings import reported_uuids, scan_findings
from tap_endorlabs.window_reader import Reconciliation
from tap_endorlabs.windows import ACTIVE_RETENTION, seam_edges, sources_for

# Each stream's schema is schemas/<stream name>.json (see schema_gen.py).
SCHEMAS = SchemaDirectory(Path(__file__).parent / "schemas")
COMPLETED_FILTER = one_of("spec.status", COMPLETED_SCAN_STATUSES)


class AuditLogsStream(EndorStream):
    """Audit logs, from the archive for anything older than 30 days, then the active store."""

    name = "audit_logs"
    resource = "audit-logs"
    path = "/v1/namespaces/{namespace}/audit-logs"
    time_field = "meta.create_time"
    replication_key = "meta.create_time"
    extra_filter_setting = "audit_log_filter"
    has_archive = True
    schema = StreamSchema(SCHEMAS)

    @property
    def archive_boundary(self) -> datetime:
        """Where the active store begins now: 30 days before the API's current time.

        The API's clock (its Date header), not ours: it is the API that moves
        records into the archive, and a local clock a day and a half off once
        left records at the seam in the store the tap did not read.  Re-read for
        every window, because records keep moving while a long backfill runs.
        """
        return self.api.clock.now() - ACTIVE_RETENTION

    @override
    def window_sources(self, lo: datetime, hi: datetime | None) -> tuple[str, ...]:
        return sources_for(lo, hi, self.archive_boundary)

    @override
    def window_edges(self) -> tuple[datetime, ...]:
        # A window straddling the seam would be read from both stores whole and
        # merged in memory; cut at the margins, only the seam's two days are.
        return seam_edges(self.archive_boundary)

    @override
    def window_query(self, lo: datetime, hi: datetime | None, source: str) -> ListQuery:
        query = super().window_query(lo, hi, source)
        if source != "archive":
            return query
        # The archive wants spec.message_kind in the filter before meta.create_time;
        # "exists" keeps every audit log (all carry a kind) while naming the field.
        return dataclasses.replace(
            query,
            path=self.list_path("/archived"),
            filter=all_of(exists("spec.message_kind"), query.filter),
        )


class AuthenticationLogsStream(EndorStream):
    """Authentication logs (sign-ins and token exchanges), incremental on creation.

    Listed like audit logs (same parameters, windows, one partition per namespace),
    but the API documents no archive for them: one store, no seam.
    """

    name = "authentication_logs"
    resource = "authentication-logs"
    path = "/v1/namespaces/{namespace}/authentication-logs"
    time_field = "meta.create_time"
    replication_key = "meta.create_time"
    schema = StreamSchema(SCHEMAS)


class ProjectsStream(EndorStream):
    """Projects, incremental on their last update.

    A project untouched since before ``start_date`` is still a project the
    findings and scans refer to, so the first run exports all of them.
    """

    name = "projects"
    resource = "projects"
    path = "/v1/namespaces/{namespace}/projects"
    time_field = "meta.update_time"
    replication_key = "meta.update_time"
    start_date_applies = False
    schema = StreamSchema(SCHEMAS)


class FindingLogsStream(EndorStream):
    """Finding lifecycle events, incremental on creation."""

    name = "finding_logs"
    resource = "finding-logs"
    path = "/v1/namespaces/{namespace}/finding-logs"
    time_field = "meta.create_time"
    replication_key = "meta.create_time"
    # FindingLog lacks paths Finding has (spec.project_uuid, spec.summary): the API
    # refuses a filter naming them, so finding logs have a filter of their own.
    extra_filter_setting = "finding_log_filter"
    schema = StreamSchema(SCHEMAS)


class ScanResultsStream(EndorStream):
    """Completed scans, incremental on completion time (``spec.end_time``).

    Keyed on completion rather than start, a scan that was still running during
    one run has an end time after that run's bookmark and is exported next time.
    """

    name = "scan_results"
    resource = "scan-results"
    path = "/v1/namespaces/{namespace}/scan-results"
    time_field = "spec.end_time"
    replication_key = "spec.end_time"
    base_filter = COMPLETED_FILTER
    schema = StreamSchema(SCHEMAS)


class FindingsStream(EndorStream):
    """The findings each newly completed scan reported, with their ``scan_context``.

    Walks completed scans like ``scan_results`` (own bookmark) and emits each
    scan's ``spec.findings`` contiguously, the last one flagged
    ``scan_context.last``.  The bookmark is the scan's completion time, so an
    interrupted scan is re-emitted whole, never half.  Which requests read a
    scan's findings is ``scan_findings``; the next scans' findings are read
    ahead in parallel (``read_ahead``, ``max_concurrent_requests`` of them) and
    emitted one scan after another, as a one-at-a-time run would.
    """

    name = "findings"
    resource = "scan-results"
    path = "/v1/namespaces/{namespace}/findings"
    time_field = "spec.end_time"
    replication_key = "scan_context.scan_time"
    base_filter = COMPLETED_FILTER
    schema = StreamSchema(SCHEMAS)

    _projects: dict[tuple[str, str], dict[str, Any] | None]
    _project_locks: dict[tuple[str, str], threading.Lock]
    _projects_lock: threading.Lock

    @property
    @override
    def refused_filter_setting(self) -> str:
        # finding_filter goes into the finding queries, not into the scan windows.
        return "finding_filter"

    @override
    def completed_identity(self, record: Mapping[str, Any]) -> str | None:
        # The bookmark follows scans: a scan is done once its last finding is out.
        context = record.get("scan_context") or {}
        return str(context["scan_uuid"]) if context.get("last") else None

    @override
    def records_since(self, start: datetime) -> Iterator[ReadItem]:
        self._projects = {}
        self._project_locks = {}
        self._projects_lock = threading.Lock()
        self._tallies: dict[str, FindingsTally] = {}
        namespace = self.namespace
        # The scans' windows are checked (a shortfall stops the run); this
        # stream's records are findings, checked per scan below.
        scans = in_order(
            (scan for scan in self.read_windows(start) if not isinstance(scan, Reconciliation)),
            lambda scan: self.scan_pages(scan, namespace),
            self.reading_ahead,
            buffer=1,
            name="scan-findings",
        )
        for scan, pages in scans:
            checked_at = self.api.clock.now()
            held: dict[str, Any] | None = None
            for page in pages:
                for finding in page:
                    if held is not None:
                        yield held
                    held = finding
            if held is not None:
                held["scan_context"] = {**held["scan_context"], "last": True}
                yield held
            # Filled by scan_pages (maybe on a worker) before its last page came.
            tally = self._tallies.pop(str(scan.get("uuid")), None)
            if tally is not None:
                yield ScanReconciliation(
                    str(scan.get("uuid")), tally.api_count, tally.read_count, checked_at
                )

    def scan_pages(self, scan: dict[str, Any], partition: str) -> Iterator[list[dict[str, Any]]]:
        """One scan's findings, page by page, each with its ``scan_context`` (``last`` false).

        Runs on a worker thread when read ahead: everything it needs is passed
        in (``partition``: the namespace being read), nothing read from the
        stream's per-partition attributes.
        """
        if not reported_uuids(scan):
            return
        namespace = (scan.get("tenant_meta") or {}).get("namespace") or partition
        subject = Subject(self.name, namespace, self.refused_filter_setting)
        project = self._project(namespace, (scan.get("meta") or {}).get("parent_uuid"), subject)
        # The same for every finding of the scan but ``last``: built once.
        context = build_scan_context(scan, project, last=False)
        finding_filter = self.config.get("finding_filter")

        def missing(uuids: list[str]) -> None:
            why = (
                "left out by finding_filter or resolved since"
                if finding_filter
                else ("resolved since")
            )
            self.logger.warning(
                "findings: scan %s in namespace %r reported %d finding(s) the API no longer "
                "lists (%s); they are not exported: %s",
                scan.get("uuid"),
                namespace,
                len(uuids),
                why,
                ", ".join(uuids[:5]) + (", ..." if len(uuids) > 5 else ""),
            )

        tally = self._tallies[str(scan.get("uuid"))] = FindingsTally()
        pages = scan_findings(
            scan,
            lambda query: self.api.iter_pages(query, subject=subject),
            path=f"/v1/namespaces/{namespace}/findings",
            page_size=int(self.config["page_size"]),
            finding_filter=finding_filter,
            missing=missing,
            read_checked=lambda query: verified_objects(self.api, query, subject),
            tally=tally,
        )
        for page in pages:
            for finding in page:
                finding["scan_context"] = dict(context)
            yield page

    def _project(
        self, namespace: str, project_uuid: str | None, subject: Subject
    ) -> dict[str, Any] | None:
        """The scan's project (cached per run, fetched once for all its scans); None if gone."""
        if not project_uuid:
            return None
        key = (namespace, project_uuid)
        with self._projects_lock:
            lock = self._project_locks.setdefault(key, threading.Lock())
        with lock:
            if key not in self._projects:
                query = ListQuery(
                    path=f"/v1/namespaces/{namespace}/projects",
                    filter=one_of("uuid", [project_uuid]),
                    page_size=1,
                )
                # Checked against the count like every list read (issue 19).
                found = verified_objects(self.api, query, subject).objects
                self._projects[key] = found[0] if found else None
            return self._projects[key]


STREAM_TYPES: tuple[type[EndorStream], ...] = (
    AuditLogsStream,
    AuthenticationLogsStream,
    ProjectsStream,
    ScanResultsStream,
    FindingsStream,
    FindingLogsStream,
)
