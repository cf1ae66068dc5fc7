"""Regenerate ``tap_endorlabs/schemas/*.json`` from the reference Endor Labs JSON Schemas.

Run ``python -m tap_endorlabs.schema_gen [REFERENCE_DIR]`` (default
``../shared/reference/endor-api-schemas`` next to the repository) after the
reference schemas change.  The reference files use ``$defs``/``$ref`` and
``anyOf``-null; the SDK wants a plain schema per stream, and the exported
records must keep every field the API sends, so the generator:

* inlines every ``$ref`` (recursive definitions stop at a depth limit and become
  open objects),
* keeps the documented types, folding ``anyOf: [X, null]`` into ``type: [X, "null"]``,
* drops ``enum`` and ``required``: a new enum value or a missing field must reach
  the target, not fail the export,
* sets ``additionalProperties: true`` on every object, so fields the reference
  has never seen survive any schema-driven step downstream.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

SCHEMA_DIR = Path(__file__).parent / "schemas"
DEFAULT_REFERENCE_DIR = Path(__file__).resolve().parents[2] / "shared/reference/endor-api-schemas"

# Stream name -> reference resource file.
STREAM_RESOURCES = {
    "audit_logs": "AuditLog",
    "authentication_logs": "AuthenticationLog",
    "findings": "Finding",
    "finding_logs": "FindingLog",
    "projects": "Project",
    "scan_results": "ScanResult",
}
MAX_REF_DEPTH = 12
DROPPED_KEYWORDS = {"enum", "required", "default", "$schema", "title", "description", "const"}

# Fields whose documented shape the API is known to break (seed 001 shows
# ``spec.claims`` as objects): their items stay unconstrained.  Authentication
# logs carry the same claims, from the same token, so they are loosened alike.
LOOSE_PATHS = {("audit_logs", "spec", "claims"), ("authentication_logs", "spec", "claims")}

SCAN_CONTEXT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": True,
    "properties": {
        "scan_uuid": {"type": "string"},
        "scan_time": {"type": "string", "format": "date-time"},
        "scan_type": {"type": "string"},
        "ref": {"type": ["string", "null"]},
        "project_uuid": {"type": ["string", "null"]},
        "project_name": {"type": ["string", "null"]},
        "namespace": {"type": ["string", "null"]},
        "last": {"type": "boolean"},
    },
}


def _resolve(node: Any, defs: dict[str, Any], depth: int) -> Any:
    """Return ``node`` with refs inlined and the open-object rules applied."""
    if isinstance(node, list):
        return [_resolve(item, defs, depth) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        if depth >= MAX_REF_DEPTH:
            return {"type": "object", "additionalProperties": True}
        target = defs[node["$ref"].rsplit("/", 1)[-1]]
        return _resolve(target, defs, depth + 1)
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in DROPPED_KEYWORDS:
            continue
        if key == "properties":
            out[key] = {name: _resolve(sub, defs, depth) for name, sub in value.items()}
        else:
            out[key] = _resolve(value, defs, depth)
    return _fold_nullable(out)


def _fold_nullable(node: dict[str, Any]) -> dict[str, Any]:
    """Turn ``anyOf: [X, null]`` into X with ``null`` in its type list; open objects."""
    any_of = node.get("anyOf")
    if isinstance(any_of, list) and len(any_of) == 2 and {"type": "null"} in any_of:
        other = next(item for item in any_of if item != {"type": "null"})
        if isinstance(other.get("type"), str):
            merged = {k: v for k, v in node.items() if k != "anyOf"}
            merged.update(other)
            merged["type"] = [other["type"], "null"]
            node = merged
    types = node.get("type")
    is_object = types == "object" or (isinstance(types, list) and "object" in types)
    if is_object and not isinstance(node.get("additionalProperties"), dict):
        node["additionalProperties"] = True
    if "enum" in node:
        del node["enum"]
    return node


def _loosen(schema: dict[str, Any], stream: str) -> None:
    """Remove item constraints on fields listed in ``LOOSE_PATHS``."""
    for path in LOOSE_PATHS:
        if path[0] != stream:
            continue
        node = schema
        for name in path[1:]:
            node = node["properties"][name]
        node["items"] = {}


def build_stream_schema(stream: str, reference_dir: Path) -> dict[str, Any]:
    """Build the plain, open JSON Schema of one stream from its reference file."""
    source = json.loads((reference_dir / f"{STREAM_RESOURCES[stream]}.json").read_text())
    defs = source.get("$defs", {})
    schema = _resolve({k: v for k, v in source.items() if k != "$defs"}, defs, 0)
    schema["additionalProperties"] = True
    _loosen(schema, stream)
    if stream == "findings":
        schema["properties"]["scan_context"] = SCAN_CONTEXT_SCHEMA
    return schema


def main(argv: list[str] | None = None) -> None:
    """Write every stream schema under ``tap_endorlabs/schemas/``."""
    args = sys.argv[1:] if argv is None else argv
    reference_dir = Path(args[0]) if args else DEFAULT_REFERENCE_DIR
    SCHEMA_DIR.mkdir(exist_ok=True)
    for stream in STREAM_RESOURCES:
        schema = build_stream_schema(stream, reference_dir)
        target = SCHEMA_DIR / f"{stream}.json"
        target.write_text(json.dumps(schema, indent=1, sort_keys=True) + "\n")
        print(f"wrote {target}")


if __name__ == "__main__":
    main()
