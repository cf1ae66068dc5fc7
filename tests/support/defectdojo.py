"""How DefectDojo reads our objects, for tests: its SARIF and Endor Labs parsers' logic.

Written from DefectDojo's public parsers (django-DefectDojo at commit 7cfa159a,
August 2026), not from our writer, and keeping only what decides what a user sees:

* ``dojo/tools/sarif/parser.py``: for each run, rules by id from
  ``tool.driver.rules``; each result of ``kind`` fail (the default) becomes one
  finding *per location* (``file_path`` = ``physicalLocation.artifactLocation.uri``,
  ``line`` = ``region.startLine``); severity from the result's ``level`` (note Info,
  warning Medium, error High, else Medium), replaced by the rule's
  ``properties.security-severity`` when it has one (``cvss_to_severity``: >= 9
  Critical, >= 7 High, >= 4 Medium, > 0 Low, else Info; also its
  ``cvssv3_score``); ``vuln_id_from_tool`` is the ``ruleId`` and the CVE is only
  the first ``CVE-n-n`` in the ``ruleId`` (``cve_try``); CWE the last ``cwe-n`` of
  the rule's ``properties.cwe`` (else its tags); ``unique_id_from_tool`` from
  ``partialFingerprints`` (``"<method>:<value>"`` joined by ``|``, sorted, method
  being the key's part before its ``/vN`` version).
* ``dojo/tools/endorlabs/parser.py``: rows are a bare JSON array, or
  ``{"list": {"objects": [...]}}``, or ``{"objects": [...]}``, else a TypeError;
  ``unique_id_from_tool`` is the row's ``uuid``; severity ``spec.level``
  (FINDING_LEVEL_CRITICAL Critical ... LOW Low, anything else Info); title
  ``meta.name``; vulnerability ids the advisory's ``meta.name`` then its
  ``spec.aliases``; findings with the same unique id are kept once.
"""

from __future__ import annotations

import json
import re
from typing import Any

_CVE = re.compile(r"(CVE-[0-9]+-[0-9]+)", re.IGNORECASE)
_CWE = re.compile(r"cwe-\d+", re.IGNORECASE)
ENDOR_SEVERITY = {
    "FINDING_LEVEL_CRITICAL": "Critical",
    "FINDING_LEVEL_HIGH": "High",
    "FINDING_LEVEL_MEDIUM": "Medium",
    "FINDING_LEVEL_LOW": "Low",
}


def cvss_to_severity(cvss: float) -> str:
    if cvss >= 9:
        return "Critical"
    if cvss >= 7:
        return "High"
    if cvss >= 4:
        return "Medium"
    return "Low" if cvss > 0 else "Info"


def _level_severity(level: str | None) -> str:
    return {"note": "Info", "warning": "Medium", "error": "High"}.get(level or "", "Medium")


def _cwes(rule: dict[str, Any]) -> list[int]:
    properties = rule.get("properties") or {}
    values = properties.get("cwe") if "cwe" in properties else properties.get("tags") or []
    found = []
    for value in values if isinstance(values, list) else [values]:
        if match := _CWE.search(str(value)):
            found.append(int(match.group(0).split("-")[1]))
    return found


def _unique_id(result: dict[str, Any]) -> str | None:
    hashes: dict[str, tuple[int, str]] = {}
    for key, value in (result.get("partialFingerprints") or {}).items():
        method, version = (
            (key.split("/")[-2], int(key.split("/")[-1].replace("v", "")))
            if ("/" in key)
            else (key, 0)
        )
        if method not in hashes or hashes[method][0] < version:
            hashes[method] = (version, value)
    return "|".join(f"{k}:{hashes[k][1]}" for k in sorted(hashes)) or None


def sarif_findings(log: dict[str, Any]) -> list[dict[str, Any]]:
    """The findings DefectDojo's SARIF import makes of a log."""
    findings = []
    for run in log.get("runs", []):
        rules = {rule["id"]: rule for rule in run["tool"]["driver"].get("rules", [])}
        for result in run.get("results", []):
            if result.get("kind", "fail") != "fail":
                continue
            rule = rules.get(result.get("ruleId"))
            places = [
                (
                    loc["physicalLocation"]["artifactLocation"]["uri"],
                    loc["physicalLocation"].get("region", {}).get("startLine"),
                )
                for loc in result.get("locations", [])
                if "physicalLocation" in loc
            ] or [(None, None)]
            for file_path, line in places:
                finding: dict[str, Any] = {
                    "severity": _level_severity(result.get("level")),
                    "file_path": file_path,
                    "line": line,
                    "vuln_id_from_tool": result.get("ruleId"),
                    "vulnerability_ids": [],
                    "cwe": None,
                    "cvssv3_score": None,
                    "unique_id_from_tool": _unique_id(result),
                    "result": result,
                }
                if match := _CVE.search(result.get("ruleId") or ""):
                    finding["vulnerability_ids"] = [match.group(1).upper()]
                if rule is not None:
                    if cwes := _cwes(rule):
                        finding["cwe"] = cwes[-1]
                    score = (rule.get("properties") or {}).get("security-severity")
                    if score is not None:
                        finding["cvssv3_score"] = float(score)
                        finding["severity"] = cvss_to_severity(float(score))
                findings.append(finding)
    return findings


def endorlabs_rows(data: Any) -> list[Any]:
    """The rows DefectDojo's Endor Labs parser reads from a JSON document."""
    if isinstance(data, list):
        return data
    if isinstance(data, dict):
        listing = data.get("list")
        if isinstance(listing, dict) and isinstance(listing.get("objects"), list):
            return listing["objects"]
        if isinstance(data.get("objects"), list):
            return data["objects"]
    msg = f"An Endor Labs export is a list of findings; got {type(data).__name__}."
    raise TypeError(msg)


def endorlabs_findings(text: bytes | str) -> list[dict[str, Any]]:
    """The findings DefectDojo's "Endor Labs - Connectors Import" makes of a JSON file."""
    findings: dict[str, dict[str, Any]] = {}
    for row in endorlabs_rows(json.loads(text)):
        if not isinstance(row, dict):
            continue
        spec = row.get("spec") or {}
        vulnerability = (spec.get("finding_metadata") or {}).get("vulnerability")
        vulnerability = vulnerability if isinstance(vulnerability, dict) else {}
        primary = ((vulnerability.get("meta") or {}).get("name") or "").strip()
        ids = [primary, *map(str, (vulnerability.get("spec") or {}).get("aliases") or [])]
        unique = (row.get("uuid") or "").strip() or f"{primary}|"
        findings.setdefault(
            unique,
            {
                "unique_id_from_tool": unique,
                "severity": ENDOR_SEVERITY.get((spec.get("level") or "").strip().upper(), "Info"),
                "title": ((row.get("meta") or {}).get("name") or "").strip()
                or "Endor Labs finding",
                "vulnerability_ids": list(dict.fromkeys(i.strip() for i in ids if i.strip())),
            },
        )
    return list(findings.values())
