"""Singer input as tap-endorlabs emits it with reconciliation (issue 19), generated.

Data records of several (stream, namespace) pairs, each pair's records cut
into windows; after a window's last record comes its ``reconciliations``
record, whose ``emitted_count`` is the number of the pair's records since the
pair's previous reconciliation (the tap's rule).  STATE messages fall
anywhere.  Findings come as scans (``scan_context.last`` on the last one) with
one reconciliation per scan, as the tap's scan reads do.
"""

from __future__ import annotations

import json
import random
import uuid as uuid_module
from dataclasses import dataclass, field
from typing import Any

RECONCILIATION_SCHEMA = {
    "type": "object",
    "properties": {
        "uuid": {"type": "string"},
        "stream": {"type": "string"},
        "namespace": {"type": "string"},
        "store": {"type": "string"},
        "window_start": {"type": ["string", "null"], "format": "date-time"},
        "window_end": {"type": ["string", "null"], "format": "date-time"},
        "scan_uuid": {"type": ["string", "null"]},
        "check": {"type": "string"},
        "api_count": {"type": "integer"},
        "read_count": {"type": "integer"},
        "emitted_count": {"type": "integer"},
        "first_record_time": {"type": ["string", "null"], "format": "date-time"},
        "last_record_time": {"type": ["string", "null"], "format": "date-time"},
        "checked_at": {"type": "string", "format": "date-time"},
        "tenant_meta": {"type": "object", "properties": {"namespace": {"type": "string"}}},
        "meta": {"type": "object", "properties": {"create_time": {"type": "string"}}},
    },
}
OPEN_SCHEMA = {"type": "object", "properties": {"uuid": {"type": "string"}}}


def message(kind: str, **body: Any) -> str:
    return json.dumps({"type": kind, **body})


def audit_log(n: int, namespace: str, day: int) -> dict[str, Any]:
    return {
        "uuid": f"{namespace}-audit-{n:06d}",
        "meta": {"create_time": f"2025-01-{day:02d}T03:04:{n % 60:02d}Z"},
        "tenant_meta": {"namespace": namespace},
        "spec": {"operation": "OPERATION_CREATE"},
    }


def finding(n: int, namespace: str, scan: str, *, last: bool) -> dict[str, Any]:
    return {
        "uuid": f"{scan}-finding-{n:05d}",
        "meta": {"name": "rule", "create_time": "2025-01-03T14:00:00Z"},
        "tenant_meta": {"namespace": namespace},
        "spec": {"level": "FINDING_LEVEL_HIGH", "project_uuid": "p1", "summary": "s"},
        "scan_context": {
            "scan_uuid": scan,
            "scan_time": "2025-01-03T14:30:25Z",
            "scan_type": "schedule",
            "ref": "main",
            "project_uuid": "p1",
            "project_name": "github.com/acme/repo",
            "namespace": namespace,
            "last": last,
        },
    }


def reconciliation(
    stream: str,
    namespace: str,
    emitted: int,
    *,
    window: tuple[str, str] | None = None,
    scan_uuid: str | None = None,
) -> dict[str, Any]:
    key = f"{stream}/{namespace}/{window or scan_uuid}"
    return {
        "uuid": str(uuid_module.uuid5(uuid_module.NAMESPACE_URL, key)),
        "stream": stream,
        "namespace": namespace,
        "store": "active",
        "window_start": window[0] if window else None,
        "window_end": window[1] if window else None,
        "scan_uuid": scan_uuid,
        "check": "exact",
        "api_count": emitted,
        "read_count": emitted,
        "emitted_count": emitted,
        "first_record_time": window[0] if window else "2025-01-03T14:00:00Z",
        "last_record_time": window[1] if window else "2025-01-03T14:00:00Z",
        "checked_at": "2025-01-10T00:00:00Z",
        "tenant_meta": {"namespace": namespace},
        "meta": {"create_time": "2025-01-10T00:00:00Z"},
    }


@dataclass
class ReconciledStream:
    """The Singer lines, and what each window promised (uuid -> emitted_count)."""

    lines: list[str] = field(default_factory=list)
    promised: dict[str, int] = field(default_factory=dict)

    @property
    def text(self) -> str:
        return "\n".join(self.lines) + "\n"


def reconciled_stream(
    seed: int,
    *,
    namespaces: tuple[str, ...] = ("acme", "acme.platform"),
    windows: int = 3,
    max_window: int = 12,
    scans: int = 2,
    state_every: int = 7,
) -> ReconciledStream:
    """A tap-like run: audit-log windows and finding scans interleaved across namespaces."""
    rng = random.Random(seed)
    out = ReconciledStream()
    out.lines += [
        message("SCHEMA", stream="audit_logs", schema=OPEN_SCHEMA, key_properties=["uuid"]),
        message("SCHEMA", stream="findings", schema=OPEN_SCHEMA, key_properties=["uuid"]),
        message(
            "SCHEMA",
            stream="reconciliations",
            schema=RECONCILIATION_SCHEMA,
            key_properties=["uuid"],
        ),
    ]
    # Work items per namespace, each a list of lines; interleaved at random.
    queues: list[list[str]] = []
    counter = 0
    for namespace in namespaces:
        items: list[str] = []
        for w in range(windows):
            size = rng.randint(0, max_window)
            day = 2 + w
            for _ in range(size):
                counter += 1
                rec = audit_log(counter, namespace, day=day + rng.randint(0, 1))
                items.append(message("RECORD", stream="audit_logs", record=rec))
            bounds = (f"2025-01-{day:02d}T00:00:00Z", f"2025-01-{day + 1:02d}T00:00:00Z")
            rec = reconciliation("audit_logs", namespace, size, window=bounds)
            out.promised[rec["uuid"]] = size
            items.append(message("RECORD", stream="reconciliations", record=rec))
        for s in range(scans):
            scan = f"{namespace.replace('.', '-')}-scan-{s}"
            size = rng.randint(1, max_window)
            for n in range(size):
                rec = finding(n, namespace, scan, last=n == size - 1)
                items.append(message("RECORD", stream="findings", record=rec))
            rec = reconciliation("findings", namespace, size, scan_uuid=scan)
            out.promised[rec["uuid"]] = size
            items.append(message("RECORD", stream="reconciliations", record=rec))
        queues.append(items)
    sent = 0
    while any(queues):
        queue = rng.choice([q for q in queues if q])
        out.lines.append(queue.pop(0))
        sent += 1
        if sent % state_every == 0:
            out.lines.append(message("STATE", value={"bookmarks": {"sent": sent}}))
    out.lines.append(message("STATE", value={"bookmarks": {"sent": sent, "done": True}}))
    return out
