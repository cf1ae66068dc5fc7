"""Hypothesis strategies for Singer input as any tap may write it (issue 11).

A drawn ``Scenario`` is a target config and a list of ``Step``s: Singer messages,
plus the records of BATCH steps, whose files the driver writes before the run
(their ``file://`` paths depend on the example's temporary directory).

What varies: several streams (Endor Labs audit logs and findings, and streams of
another tap with no Endor fields) with hostile and non-ASCII names; findings of
several scans interleaved and split, each scan's last finding marked ``last``;
SCHEMA repeated mid-stream (same, changed, or with no ``properties``); STATE
holding any JSON value at any point; BATCH files (JSONL, gzip or not);
ACTIVATE_VERSION; batch limits so small that drains fall everywhere.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from hypothesis import strategies as st

FINDINGS = "findings"
AUDIT_LOGS = "audit_logs"
# Names a tap may send that sanitising must keep safe, decodable and apart: path
# climbing, separators, names that fold together (``a/b``, ``a:b``, ``a b``),
# percent signs, control characters, non-ASCII, and lengths around the 100
# character cap where an escape or a UTF-8 character could be cut.
HOSTILE_NAMES = (
    "../../x",
    "..",
    ".",
    "/",
    "a/b",
    "a:b",
    "a b",
    "a%2Fb",
    "%41",
    "ctl\x07\x1b[31m",
    "ünïcødé",
    "名前-🚀",
    "é" * 40,
    "x" * 98 + "é",
    "y" * 150,
)
DATE_TIMES = (
    "2025-05-05T08:00:00Z",
    "2025-05-05T08:00:00.123456Z",
    "2025-05-05T08:00:00.1Z",
    "2025-05-05T08:00:00+00:00",
    "2025-05-05T10:00:00+02:00",
    "2024-12-31T23:59:59.999Z",
)
# Dict keys of generated values: never ``_sdc_*``, which the SDK strips by design.
KEY_ALPHABET = "abcxyzAZ09_-. é名🚀"

names = st.sampled_from(HOSTILE_NAMES) | st.text(
    st.characters(exclude_categories=("Cs",)), min_size=1, max_size=12
)
json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**31), max_value=2**31)
    | st.integers(min_value=-(2**80), max_value=2**80)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(st.characters(exclude_categories=("Cs",)), max_size=8)
)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(st.text(KEY_ALPHABET, max_size=5), children, max_size=3)
    ),
    max_leaves=6,
)


def canonical(value: Any) -> str:
    """A JSON value as one string: equal strings exactly for equal JSON values.

    Strings compare byte for byte (a date-time must come back as the same text);
    numbers by their exact value, as JSON defines them (``1``, ``1.0`` and
    ``1E+0`` are one number); ``true`` is not ``1``.
    """
    return json.dumps(_tagged(value), sort_keys=True, ensure_ascii=False)


def _tagged(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _tagged(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_tagged(item) for item in value]
    if isinstance(value, str):
        return "s" + value
    if isinstance(value, bool) or value is None:
        return value
    number = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    return "n" + str(number.normalize() if number else Decimal(0))


@dataclass
class Step:
    """One input line: a Singer message, or a BATCH whose file the driver writes."""

    message: dict[str, Any]
    batch_records: list[dict[str, Any]] | None = None
    batch_compression: str | None = None

    @property
    def records(self) -> list[dict[str, Any]]:
        """The records this line hands the target (RECORD or BATCH)."""
        if self.message["type"] == "RECORD":
            return [self.message["record"]]
        return list(self.batch_records or [])


@dataclass
class Scenario:
    """A target config and the input to feed it."""

    config: dict[str, Any]
    steps: list[Step] = field(default_factory=list)

    @property
    def scans(self) -> dict[str, list[dict[str, Any]]]:
        """Every scan uuid sent, with its findings in input order."""
        out: dict[str, list[dict[str, Any]]] = {}
        for step in self.steps:
            if step.message.get("stream") != FINDINGS:
                continue
            for record in step.records:
                out.setdefault(record["scan_context"]["scan_uuid"], []).append(record)
        return out


def schema_for(key: str, variant: int) -> dict[str, Any]:
    """A stream's schema: variant 0 the first, others a change mid-stream.

    Variant 2 is ``{"type": "object"}`` with no ``properties``: valid Singer, an
    open object.
    """
    if variant == 2:
        return {"type": "object"}
    properties: dict[str, Any] = {
        "meta": {
            "type": ["object", "null"],
            "properties": {"create_time": {"type": "string", "format": "date-time"}},
            "additionalProperties": True,
        },
    }
    properties[key] = {"type": ["string", "integer"]}
    if variant == 1:
        properties["context"] = {"type": ["object", "null"], "additionalProperties": True}
    return {"type": "object", "properties": properties, "additionalProperties": True}


@st.composite
def audit_stream(draw: st.DrawFn, stream: str, tag: str) -> list[dict[str, Any]]:
    """Audit-log-like records: ``tenant_meta.namespace`` and ``meta.create_time``."""
    namespaces = draw(st.lists(names, min_size=1, max_size=2))
    return [
        {
            "uuid": f"{tag}-{number}",
            "meta": {"create_time": draw(st.sampled_from(DATE_TIMES)), "kind": "AuditLog"},
            "tenant_meta": {"namespace": draw(st.sampled_from(namespaces))},
            "spec": draw(json_values),
        }
        for number in range(draw(st.integers(1, 5)))
    ]


@st.composite
def other_tap_stream(draw: st.DrawFn, tag: str) -> list[dict[str, Any]]:
    """Records of another tap: no uuid, no tenant_meta, an integer id."""
    return [
        {"id": number, "name": f"{tag}-{number}", "payload": draw(json_values)}
        for number in range(draw(st.integers(1, 4)))
    ]


@st.composite
def scan_findings(draw: st.DrawFn) -> list[dict[str, Any]]:
    """One scan's findings, as docs/CONTRACTS.md section 3 says, ``last`` on the last."""
    scan_uuid = str(draw(st.uuids()))
    project_uuid = str(draw(st.uuids()))
    context = {
        "scan_uuid": scan_uuid,
        "scan_time": draw(st.sampled_from(DATE_TIMES)),
        "scan_type": draw(st.sampled_from(["schedule", "pr"])),
        "ref": draw(names),
        "project_uuid": project_uuid,
        "project_name": draw(names),
        "namespace": draw(names),
    }
    count = draw(st.integers(1, 4))
    return [
        {
            "uuid": f"{scan_uuid}-f{number}",
            "meta": {"name": f"GHSA-{number}", "create_time": draw(st.sampled_from(DATE_TIMES))},
            "tenant_meta": {"namespace": context["namespace"]},
            "spec": draw(json_values),
            "scan_context": {**context, "last": number == count - 1},
        }
        for number in range(count)
    ]


@st.composite
def stream_records(draw: st.DrawFn) -> dict[str, list[dict[str, Any]]]:
    """The records of each stream, in the order each stream sends them."""
    streams: dict[str, list[dict[str, Any]]] = {}
    if draw(st.integers(0, 3)):  # findings in most examples, several scans each
        scans = draw(st.lists(scan_findings(), min_size=2, max_size=3))
        streams[FINDINGS] = interleave(draw, scans)
    if draw(st.booleans()):
        streams[AUDIT_LOGS] = draw(audit_stream(AUDIT_LOGS, "audit"))
    for index, name in enumerate(draw(st.lists(names, max_size=2, unique=True))):
        if name in streams:
            continue
        if draw(st.booleans()):
            streams[name] = draw(audit_stream(name, f"s{index}"))
        else:
            streams[name] = draw(other_tap_stream(f"s{index}"))
    if not streams:
        streams[AUDIT_LOGS] = draw(audit_stream(AUDIT_LOGS, "audit"))
    return streams


def interleave(draw: st.DrawFn, queues: list[list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """Merge lists in a drawn order, each list keeping its own order."""
    pending = [list(queue) for queue in queues if queue]
    merged: list[dict[str, Any]] = []
    while pending:
        queue = pending[draw(st.integers(0, len(pending) - 1))]
        merged.append(queue.pop(0))
        pending = [queue for queue in pending if queue]
    return merged


target_settings = st.fixed_dictionaries(
    {
        "batch_max_records": st.integers(1, 5),
        "batch_max_bytes": st.sampled_from([1, 400, 3000, 64 << 20]),
        # 3600: drains only when a batch is full and at the end; 0: a
        # drain of every sink, and a state, after every record.
        "batch_max_age_seconds": st.sampled_from([3600, 0]),
        "format": st.sampled_from(["json", "jsonl"]),
        "compression": st.sampled_from(["zip", "gzip", "none"]),
    }
)


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    """A whole input: streams interleaved, with SCHEMA, STATE, BATCH and ACTIVATE_VERSION."""
    scenario = Scenario(config=draw(target_settings))
    streams = draw(stream_records())
    queues = {name: list(records) for name, records in streams.items()}
    keys = {name: "uuid" if "uuid" in records[0] else "id" for name, records in streams.items()}
    announced: set[str] = set()
    steps = scenario.steps
    while queues:
        names_left = sorted(queues)
        stream = names_left[draw(st.integers(0, len(names_left) - 1))]
        queue = queues[stream]
        if stream not in announced:
            steps.append(Step(_schema(stream, keys[stream], 0)))
            announced.add(stream)
        extra = draw(st.integers(0, 6))
        if extra == 0:
            steps.append(Step({"type": "STATE", "value": draw(json_values)}))
        elif extra == 1:
            steps.append(Step(_schema(stream, keys[stream], draw(st.integers(0, 2)))))
        elif extra == 2:
            version = draw(st.integers(1, 2**40))
            steps.append(Step({"type": "ACTIVATE_VERSION", "stream": stream, "version": version}))
        if draw(st.integers(0, 4)) == 0:
            take = draw(st.integers(1, len(queue)))
            batch, queues[stream] = queue[:take], queue[take:]
            compression = draw(st.sampled_from(["gzip", "none"]))
            steps.append(
                Step(
                    {"type": "BATCH", "stream": stream, "encoding": {}, "manifest": []},
                    batch_records=batch,
                    batch_compression=compression,
                )
            )
        else:
            steps.append(Step({"type": "RECORD", "stream": stream, "record": queue.pop(0)}))
        queues = {name: left for name, left in queues.items() if left}
        if draw(st.integers(0, 2)) == 0:
            steps.append(Step({"type": "STATE", "value": draw(json_values)}))
    return scenario


def _schema(stream: str, key: str, variant: int) -> dict[str, Any]:
    return {
        "type": "SCHEMA",
        "stream": stream,
        "schema": schema_for(key, variant),
        "key_properties": [key],
    }
