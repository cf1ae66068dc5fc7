"""What one namespace's export must hold, and what the export bucket holds per namespace."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from tap_endorlabs.filters import COMPLETED_SCAN_STATUSES
from tests.emulator.clock import parse_rfc3339_us
from tests.s3_listing import StoredObject
from tests.support.emulator_client import ground_truth
from tests.support.servers import ServerProcess
from tests.test_pipeline.conftest import START_DATE


def expected_audit(server: ServerProcess, namespace: str) -> set[str]:
    """Uuids of the audit logs of one namespace a run from START_DATE exports."""
    since = parse_rfc3339_us(START_DATE)
    return {
        log["uuid"]
        for log in ground_truth(server, "audit-logs")
        if log["tenant_meta"]["namespace"] == namespace
        and parse_rfc3339_us(log["meta"]["create_time"]) >= since
    }


def expected_scans(server: ServerProcess, namespace: str) -> set[str]:
    """Uuids of the completed scans with findings of one namespace (one object each)."""
    since = parse_rfc3339_us(START_DATE)
    return {
        scan["uuid"]
        for scan in ground_truth(server, "scan-results")
        if scan["tenant_meta"]["namespace"] == namespace
        and scan["spec"].get("status") in COMPLETED_SCAN_STATUSES
        and scan["spec"].get("end_time")
        and parse_rfc3339_us(scan["spec"]["end_time"]) >= since
        and scan["spec"].get("findings")
    }


def namespace_of(key: str) -> str:
    """The namespace segment of an export key (``endor/<exporter>/<namespace>/...``)."""
    return key.split("/")[2]


def namespaces_written(objects: list[StoredObject]) -> set[str]:
    """The namespaces objects hold: from a data key, or each proof line's ``namespace``.

    The proof of the windows read (``_reconciliation/``, issue 19) is one folder for
    every namespace; its lines name theirs.
    """
    found: set[str] = set()
    for stored in objects:
        if "/_reconciliation/" in stored.key:
            found.update(str(line["namespace"]) for line in stored.records)
        else:
            found.add(namespace_of(stored.key))
    return found


def audit_by_namespace(objects: list[StoredObject]) -> dict[str, list[str]]:
    """Audit-log uuids written per namespace (a list: duplicates stay visible)."""
    found: dict[str, list[str]] = defaultdict(list)
    for stored in objects:
        if "/audit-logs/" in stored.key:
            found[namespace_of(stored.key)].extend(record["uuid"] for record in stored.records)
    return found


def scans_by_namespace(objects: list[StoredObject]) -> dict[str, set[str]]:
    """Scans with a findings object, per namespace (one scan's findings per object)."""
    found: dict[str, set[str]] = defaultdict(set)
    for stored in objects:
        if stored.key.split("/")[4:5] in (["schedule"], ["pr"]):
            found[namespace_of(stored.key)].add(stored.records[0]["scan_context"]["scan_uuid"])
    return found


def bookmarks(state: dict[str, Any]) -> dict[str, Any]:
    """The Singer bookmarks in one of Meltano's state objects."""
    return state["completed"]["singer_state"]["bookmarks"]
