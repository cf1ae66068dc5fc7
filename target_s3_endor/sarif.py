"""Endor Labs findings -> SARIF 2.1.0, assembled streaming from a spool.

Written for GitHub code scanning: one rule per vulnerability (CVE/GHSA id) or
finding name, levels from ``spec.level``, ``security-severity`` and the
``security`` tag (which make results security alerts), and partial
fingerprints that stay the same across runs.  Results are written as they are
read; only the rules of the current run are held, and a run is closed after
``max_results_per_run`` results (GitHub accepts at most 25,000 a run).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from typing import Any
from urllib.parse import quote

import msgspec

from target_s3_endor.keys import dig
from target_s3_endor.version import package_version

SARIF_SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
MAX_RESULTS_PER_RUN = 25_000
TOOL_NAME = "Endor Labs"
TOOL_URI = "https://www.endorlabs.com"
LEVELS = {
    "FINDING_LEVEL_CRITICAL": "error",
    "FINDING_LEVEL_HIGH": "error",
    "FINDING_LEVEL_MEDIUM": "warning",
    "FINDING_LEVEL_LOW": "note",
}
SEVERITY_BY_LEVEL = {
    "FINDING_LEVEL_CRITICAL": "9.5",
    "FINDING_LEVEL_HIGH": "8.0",
    "FINDING_LEVEL_MEDIUM": "5.5",
    "FINDING_LEVEL_LOW": "2.0",
}

RULES_PER_CHUNK = 1000

_decoder = msgspec.json.Decoder()
_encoder = msgspec.json.Encoder()


def rule_id(finding: dict[str, Any]) -> str:
    """The rule a finding reports: its vulnerability id, else the finding's name."""
    vulnerability = dig(finding, "spec", "finding_metadata", "vulnerability")
    for path in (("meta", "name"), ("cve_id",), ("spec", "aliases")):
        value = dig(vulnerability, *path)
        if isinstance(value, list):
            value = value[0] if value else None
        if isinstance(value, str) and value:
            return value
    name = dig(finding, "meta", "name")
    return name if isinstance(name, str) and name else "endor-finding"


def cvss_score(finding: dict[str, Any]) -> float | None:
    """The vulnerability's CVSS score when the finding carries one."""
    vulnerability = dig(finding, "spec", "finding_metadata", "vulnerability")
    for path in (("spec", "cvss_v3_severity", "score"), ("cvss_score",), ("spec", "cvss_score")):
        value = dig(vulnerability, *path)
        if isinstance(value, int | float) and 0 < value <= 10:
            return float(value)
    return None


def security_severity(finding: dict[str, Any]) -> str:
    """CVSS score if present, else a score for the level (GitHub's bands)."""
    score = cvss_score(finding)
    if score is not None:
        return f"{score:.1f}"
    return SEVERITY_BY_LEVEL.get(str(dig(finding, "spec", "level")), "5.5")


def fingerprint(finding: dict[str, Any]) -> str:
    """A stable fingerprint: the finding uuid's hash, else project+rule+package."""
    uuid = finding.get("uuid")
    if isinstance(uuid, str) and uuid:
        basis = uuid
    else:
        spec = finding.get("spec") or {}
        basis = "|".join(
            str(part)
            for part in (
                spec.get("project_uuid"),
                rule_id(finding),
                spec.get("target_dependency_package_name"),
            )
        )
    return hashlib.sha256(basis.encode()).hexdigest()


def locations(finding: dict[str, Any]) -> list[dict[str, Any]]:
    """Where the finding is: its dependency files, else its package name."""
    paths = dig(finding, "spec", "dependency_file_paths")
    uris = [p for p in paths if isinstance(p, str) and p] if isinstance(paths, list) else []
    if not uris:
        package = dig(finding, "spec", "target_dependency_package_name") or rule_id(finding)
        uris = [str(package)]
    return [
        {
            "physicalLocation": {
                "artifactLocation": {"uri": quote(uri, safe="/@:+.-_~")},
                "region": {"startLine": 1},
            }
        }
        for uri in uris
    ]


def to_result(finding: dict[str, Any]) -> dict[str, Any]:
    """One SARIF result for one finding."""
    spec = finding.get("spec") or {}
    level = LEVELS.get(str(spec.get("level")), "warning")
    summary = spec.get("summary") or dig(finding, "meta", "description") or rule_id(finding)
    tags = ["security", *[str(c) for c in spec.get("finding_categories") or []]]
    return {
        "ruleId": rule_id(finding),
        "level": level,
        "message": {"text": str(summary)},
        "locations": locations(finding),
        "partialFingerprints": {"endorFindingHash/v1": fingerprint(finding)},
        "properties": {
            "security-severity": security_severity(finding),
            "tags": tags,
            "endor-finding-uuid": finding.get("uuid"),
            "package": spec.get("target_dependency_package_name"),
        },
    }


def to_rule(finding: dict[str, Any], result: dict[str, Any]) -> dict[str, Any]:
    """The rule entry for the first finding seen with a rule id."""
    spec = finding.get("spec") or {}
    name = dig(finding, "meta", "name") or result["ruleId"]
    text = str(spec.get("summary") or name)
    remediation = spec.get("remediation")
    return {
        "id": result["ruleId"],
        "name": str(name),
        "shortDescription": {"text": text[:1024]},
        "fullDescription": {"text": text},
        "help": {"text": str(remediation or text)},
        "defaultConfiguration": {"level": result["level"]},
        "properties": {
            "security-severity": result["properties"]["security-severity"],
            "tags": ["security"],
        },
    }


def _run_tail(rules: dict[str, bytes], tool_version: str) -> Iterator[bytes]:
    """Close a run's results and write its tool with the rules, a slice at a time.

    Rules are kept encoded: a run may hold 25,000 distinct rules, ~18 MB as
    JSON but ~85 MB as Python dicts.
    """
    driver = {"name": TOOL_NAME, "informationUri": TOOL_URI, "semanticVersion": tool_version}
    yield b'],"tool":{"driver":' + _encoder.encode(driver)[:-1] + b',"rules":['
    encoded = list(rules.values())
    for start in range(0, len(encoded), RULES_PER_CHUNK):
        yield (b"," if start else b"") + b",".join(encoded[start : start + RULES_PER_CHUNK])
    yield b"]}}}"


def sarif_chunks(
    lines: Iterable[bytes],
    *,
    tool_version: str | None = None,
    max_results_per_run: int = MAX_RESULTS_PER_RUN,
) -> Iterator[bytes]:
    """Stream a SARIF log from JSON lines of findings.

    Each run is written as ``{"results": [...], "tool": {...}}`` so results go
    out as they are read and the run's rules follow them.
    """
    version = tool_version or package_version()
    yield b'{"$schema":"' + SARIF_SCHEMA_URI.encode() + b'","version":"2.1.0","runs":['
    rules: dict[str, bytes] = {}
    in_run = 0
    runs = 0
    for line in lines:
        finding = _decoder.decode(line)
        if in_run == max_results_per_run:
            yield from _run_tail(rules, version)
            rules, in_run = {}, 0
        if in_run == 0:
            yield (b"," if runs else b"") + b'{"results":['
            runs += 1
        result = to_result(finding)
        if result["ruleId"] not in rules:
            rules[result["ruleId"]] = _encoder.encode(to_rule(finding, result))
        yield (b"," if in_run else b"") + _encoder.encode(result)
        in_run += 1
    if runs == 0:
        yield b'{"results":['
    yield from _run_tail(rules, version)
    yield b"]}"
