"""The ``scan_context`` every ``findings`` record carries (CONTRACTS.md section 3).

The target lays out S3 keys from these fields alone, so they are derived here,
once, from the ScanResult and its Project, as pure functions.
"""

from __future__ import annotations

import re
from typing import Any

from tap_endorlabs.windows import format_timestamp, parse_timestamp

PR_CONTEXT = "CONTEXT_TYPE_CI_RUN"
_PULL_REF = re.compile(r"^refs/(?:pull|merge-requests)/(\d+)(?:/|$)")
_BRANCH_PREFIX = "refs/heads/"


def scan_type(scan: dict[str, Any]) -> str:
    """``pr`` for a CI-run (pull request) scan, else ``schedule``."""
    return "pr" if (scan.get("context") or {}).get("type") == PR_CONTEXT else "schedule"


def scan_ref(scan: dict[str, Any]) -> str | None:
    """The branch name, or for ``pr`` scans the PR number when a ref names it, else the run id.

    The official models have no PR-number field (``V1ScanResultSpec``): what they
    hold is ``context.id``, the PR run's UUID, and refs that may or may not be a
    ``refs/pull/<n>/...`` (or GitLab ``refs/merge-requests/<n>/...``) ref.  So a PR
    scan's ref is that number when ``spec.refs`` or ``spec.versions[].ref`` carry
    one (readable, and the folder Endor Labs' exporter uses), else ``context.id``.
    ``spec.environment.config`` is endorctl's free-form configuration and is not
    read: no documented key holds the number.  A branch is ``context.id`` for
    ``CONTEXT_TYPE_REF``, else the first of ``spec.refs`` (``refs/heads/``
    stripped), else ``spec.versions[0].ref``, else ``context.id``.
    """
    spec = scan.get("spec") or {}
    context = scan.get("context") or {}
    refs = [str(ref) for ref in (spec.get("refs") or []) if ref]
    refs += [
        str(v["ref"]) for v in (spec.get("versions") or []) if isinstance(v, dict) and v.get("ref")
    ]
    if scan_type(scan) == "pr":
        for ref in refs:
            if match := _PULL_REF.match(ref):
                return match.group(1)
        return str(context["id"]) if context.get("id") else None
    if context.get("type") == "CONTEXT_TYPE_REF" and context.get("id"):
        return _branch(str(context["id"]))
    if refs:
        return _branch(refs[0])
    return str(context["id"]) if context.get("id") else None


def _branch(ref: str) -> str:
    return ref[len(_BRANCH_PREFIX) :] if ref.startswith(_BRANCH_PREFIX) else ref


def scan_time(scan: dict[str, Any]) -> str | None:
    """The scan's completion time: ``spec.end_time`` as served when it is UTC (``Z``)."""
    raw = (scan.get("spec") or {}).get("end_time")
    if not raw:
        return None
    text = str(raw)
    if text.endswith("Z"):
        return text
    return format_timestamp(parse_timestamp(text))


def build_scan_context(
    scan: dict[str, Any], project: dict[str, Any] | None, *, last: bool
) -> dict[str, Any]:
    """The ``scan_context`` object for one finding of ``scan``."""
    meta = scan.get("meta") or {}
    project_meta = (project or {}).get("meta") or {}
    return {
        "scan_uuid": scan.get("uuid"),
        "scan_time": scan_time(scan),
        "scan_type": scan_type(scan),
        "ref": scan_ref(scan),
        "project_uuid": meta.get("parent_uuid") or (project or {}).get("uuid"),
        "project_name": project_meta.get("name"),
        "namespace": (scan.get("tenant_meta") or {}).get("namespace"),
        "last": last,
    }
