"""What a complete export must hold, from the emulator's ground truth, and what S3 holds."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Any

from tap_endorlabs.filters import COMPLETED_SCAN_STATUSES
from tests.emulator.clock import parse_rfc3339_us
from tests.s3_listing import StoredObject, list_objects
from tests.support.emulator_client import ground_truth
from tests.support.servers import ServerProcess


@dataclass(frozen=True)
class Expected:
    """The audit logs and scans (with their findings) a run from ``start_date`` exports."""

    audit_uuids: frozenset[str]
    scan_findings: dict[str, frozenset[str]]


def expected_export(server: ServerProcess, start_date: str) -> Expected:
    """Ground truth: tenant namespaces only, time >= start_date, completed scans.

    Times are compared as instants (the emulator's own parsing, not the tap's),
    whatever the width of their fraction or their offset.
    """
    since = parse_rfc3339_us(start_date)
    audit = frozenset(
        log["uuid"]
        for log in ground_truth(server, "audit-logs")
        if parse_rfc3339_us(log["meta"]["create_time"]) >= since
    )
    scans = {
        scan["uuid"]: frozenset(scan["spec"].get("findings") or [])
        for scan in ground_truth(server, "scan-results")
        if scan["spec"].get("status") in COMPLETED_SCAN_STATUSES
        and scan["spec"].get("end_time")
        and parse_rfc3339_us(scan["spec"]["end_time"]) >= since
    }
    return Expected(audit, {uuid: found for uuid, found in scans.items() if found})


@dataclass(frozen=True)
class Exported:
    """What the bucket holds, decoded."""

    objects: list[StoredObject]
    audit_uuids: Counter[str]
    scan_objects: dict[str, list[str]]
    scan_findings: dict[str, list[str]]

    @property
    def audit_duplicates(self) -> int:
        """Audit-log records written more than once (at-least-once delivery)."""
        return sum(self.audit_uuids.values()) - len(self.audit_uuids)


def exported(client: Any, bucket: str) -> Exported:
    """Decode every object; group audit logs by uuid and findings by scan."""
    objects = list_objects(client, bucket)
    audit: Counter[str] = Counter()
    scan_objects: dict[str, list[str]] = defaultdict(list)
    scan_findings: dict[str, list[str]] = defaultdict(list)
    for stored in objects:
        if "/audit-logs/" in stored.key:
            audit.update(record["uuid"] for record in stored.records)
            continue
        for record in stored.records:
            context = record.get("scan_context") if isinstance(record, dict) else None
            if isinstance(context, dict) and context.get("scan_uuid"):
                scan = str(context["scan_uuid"])
                if stored.key not in scan_objects[scan]:
                    scan_objects[scan].append(stored.key)
                scan_findings[scan].append(record["uuid"])
    return Exported(objects, audit, dict(scan_objects), dict(scan_findings))


def missing_from(expected: Expected, found: Exported) -> list[str]:
    """Human-readable problems: lost audit logs, lost or partial scans, split scans."""
    problems = []
    lost = expected.audit_uuids - set(found.audit_uuids)
    if lost:
        problems.append(f"{len(lost)} audit logs missing, e.g. {sorted(lost)[:3]}")
    for scan, findings in sorted(expected.scan_findings.items()):
        got = found.scan_findings.get(scan)
        if got is None:
            problems.append(f"scan {scan}: no findings object")
        elif set(got) != findings or len(got) != len(findings):
            problems.append(f"scan {scan}: {len(got)} findings written, {len(findings)} expected")
        elif len(found.scan_objects[scan]) != 1:
            problems.append(f"scan {scan}: {len(found.scan_objects[scan])} objects")
    return problems
