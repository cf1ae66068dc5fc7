"""Which field paths each resource has, read from the reference JSON Schemas.

The API refuses a filter that names a field its resource lacks (HTTP 400, code 3,
"invalid path"; the official SDK parses that error), for example
``spec.project_uuid`` on finding logs.  The emulator knows each resource's fields
from ``endor-api-schemas/`` itself, so the check follows the reference whenever
it changes.  Free-form parts (``additionalProperties: true`` objects such as a
``payload`` or endorctl's ``config``, and maps) accept any deeper path.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from tests.emulator.errors import invalid
from tests.emulator.filters import BoolOp, Node

REFERENCE_DIR = Path(__file__).resolve().parents[3] / "shared/reference/endor-api-schemas"
SCHEMA_FILES = {
    "audit-logs": "AuditLog.json",
    "authentication-logs": "AuthenticationLog.json",
    "findings": "Finding.json",
    "finding-logs": "FindingLog.json",
    "namespaces": "Namespace.json",
    "projects": "Project.json",
    "scan-results": "ScanResult.json",
}
_OPEN = "open"


@cache
def _schema(resource: str) -> dict[str, Any] | None:
    name = SCHEMA_FILES.get(resource)
    if name is None or not (REFERENCE_DIR / name).is_file():
        return None
    loaded: dict[str, Any] = json.loads((REFERENCE_DIR / name).read_text())
    return loaded


def _resolve(node: Any, defs: dict[str, Any]) -> list[dict[str, Any]]:
    """The object schemas a node may be: refs followed, ``anyOf`` branches and array items."""
    if not isinstance(node, dict):
        return []
    if "$ref" in node:
        return _resolve(defs.get(node["$ref"].rsplit("/", 1)[-1]), defs)
    found: list[dict[str, Any]] = []
    for branch in node.get("anyOf") or ():
        found.extend(_resolve(branch, defs))
    if "items" in node:
        found.extend(_resolve(node["items"], defs))
    if node.get("type") == "object" or "properties" in node or "additionalProperties" in node:
        found.append(node)
    return found


def _step(nodes: list[dict[str, Any]], name: str, defs: dict[str, Any]) -> list[Any] | str:
    """The schemas ``name`` leads to from ``nodes``: ``_OPEN`` for free-form, [] if none."""
    found: list[Any] = []
    for node in nodes:
        properties = node.get("properties") or {}
        if name in properties:
            found.extend(_resolve(properties[name], defs) or [{}])
            continue
        extra = node.get("additionalProperties")
        if extra is True or (not properties and extra is None):
            return _OPEN
        if isinstance(extra, dict):
            found.extend(_resolve(extra, defs) or [{}])
    return found


@cache
def has_path(resource: str, path: str) -> bool:
    """Whether objects of ``resource`` can hold ``path`` (unknown resources: any path)."""
    schema = _schema(resource)
    if schema is None:
        return True
    defs = schema.get("$defs") or {}
    nodes: list[Any] | str = [schema]
    for name in path.split("."):
        if nodes == _OPEN:
            return True
        assert isinstance(nodes, list)
        objects = [node for node in nodes if node]
        if not objects:  # only leaves reached, and the path goes on
            return False
        nodes = _step(objects, name, defs)
        if not nodes:
            return False
    return True


def _paths(node: Node) -> list[str]:
    if isinstance(node, BoolOp):
        return [path for child in node.children for path in _paths(child)]
    return [node.path]


def check_filter_paths(resource: str, node: Node) -> None:
    """Refuse, as the API does, a filter naming a field ``resource`` lacks.

    Raises:
        ApiError: 400, code 3, "invalid path ...".
    """
    for path in _paths(node):
        if not has_path(resource, path):
            raise invalid(f"invalid path {path!r}: {resource} objects have no such field")
