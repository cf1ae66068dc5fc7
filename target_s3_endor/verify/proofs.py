"""Read the proof objects: list them under each proof root, parse their lines.

A proof line that cannot be read as a reconciliation record is not skipped:
it is reported, and makes the check fail, since a window it describes could be
missing without trace.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import msgspec

from target_s3_endor.layouts import proof as proof_layout
from target_s3_endor.layouts.registry import LAYOUTS
from target_s3_endor.naming import parse_time
from target_s3_endor.settings.model import TargetSettings


@dataclass(frozen=True)
class ProofWindow:
    """One proof record, as ``--verify`` needs it."""

    uuid: str
    stream: str
    namespace: str
    day: str
    expected: int
    api_count: int | None
    #: Distinct records the tap read (it emits fewer when a re-run skips those already sent).
    read_count: int | None
    exact: bool
    objects: list[tuple[str, int, int]]  # key, the window's records in it, the object's records
    #: The window's [start, end) as sortable UTC text; None for a scan read.
    span: tuple[str, str] | None = None


def proof_roots(settings: TargetSettings) -> list[str]:
    """Where the target writes proofs for these settings (see layouts/proof.py)."""
    return LAYOUTS[settings.layout].roots(settings)


def list_proof_keys(client: Any, bucket: str, roots: list[str]) -> Iterator[tuple[str, int]]:
    """Every proof object's key and size, root by root, in key order (one page at a time)."""
    paginator = client.get_paginator("list_objects_v2")
    for root in roots:
        prefix = proof_layout.proof_prefix(root)
        for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
            for entry in page.get("Contents", []):
                if entry["Key"].endswith(proof_layout.PROOF_SUFFIX):
                    yield entry["Key"], int(entry["Size"])


def _count(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def parse_proof_line(line: bytes) -> ProofWindow:
    """One line of a proof object.

    Raises:
        ValueError: naming what is wrong with it.
    """
    try:
        record = msgspec.json.decode(line)
    except msgspec.DecodeError as exc:
        raise ValueError(f"not JSON ({exc})") from None
    if not isinstance(record, dict):
        raise ValueError("not a JSON object")
    uuid, stream = record.get("uuid"), record.get("stream")
    expected = _count(record.get("emitted_count"))
    if not isinstance(uuid, str) or not isinstance(stream, str) or expected is None:
        raise ValueError("lacks uuid, stream or emitted_count")
    objects = record.get(proof_layout.OBJECTS)
    if not isinstance(objects, list):
        raise ValueError(f"window {uuid} lacks its objects list")
    parts = []
    for entry in objects:
        key = entry.get("key") if isinstance(entry, dict) else None
        records = _count(entry.get("records")) if isinstance(entry, dict) else None
        total = _count(entry.get("object_records")) if isinstance(entry, dict) else None
        if not isinstance(key, str) or records is None:
            raise ValueError(f"window {uuid} lists an object without key or records")
        parts.append((key, records, records if total is None else total))
    namespace = record.get("namespace")
    return ProofWindow(
        uuid=uuid,
        stream=stream,
        namespace=namespace if isinstance(namespace, str) else "",
        day=proof_layout.window_day(record),
        expected=expected,
        api_count=_count(record.get("api_count")),
        read_count=_count(record.get("read_count")),
        exact=record.get("check") == "exact",
        objects=parts,
        span=_span(record),
    )


def _span(record: dict) -> tuple[str, str] | None:
    """A time window's bounds in one sortable form (the tap may write any RFC 3339)."""
    start, end = parse_time(record.get("window_start")), parse_time(record.get("window_end"))
    if start is None or end is None:
        return None
    return _sortable(start), _sortable(end)


def _sortable(moment: datetime) -> str:
    """``moment`` (UTC) at fixed width, so text order is time order.

    ``isoformat``, not ``strftime``, whose ``%Y`` writes year 1 as ``1`` on Linux (it would
    sort after every later year).
    """
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"
