"""Endor Labs findings -> SARIF 2.1.0, assembled streaming from a spool.

Written for GitHub code scanning and DefectDojo: one rule per advisory (GHSA/CVE
id) or finding name *and level*, levels from ``spec.level``, ``security-severity``
and the ``security`` tag (which make results security alerts), and partial
fingerprints that stay the same across runs.

Both consumers read a result's severity from its *rule* (GitHub: "security-severity"
of ``reportingDescriptor.properties``; DefectDojo: ``rule["properties"]
["security-severity"]`` in ``dojo/tools/sarif/parser.py``, which overrides the
result's ``level``), so everything on a rule (name, texts, tags, CWEs, severity)
is true for every result of it: a rule is an advisory at one level, and what is
one finding's own (summary, package, files, remediation, CVSS) is on the result.
DefectDojo takes CVE ids only from the ``ruleId`` (``cve_try``), so a GHSA
advisory's rule id carries its first CVE alias (``GHSA-x/CVE-y/critical``).
Results are written as they are read; only the rules of the current run are held.

GitHub's documented upload rules, kept here (sources in the comments):

* At most 25,000 results and 25,000 rules per run, 20 runs per file, 1,000
  locations per result (10 shown), 20 tags per rule (10 shown):
  https://docs.github.com/en/code-security/code-scanning/troubleshooting-sarif-uploads/results-exceed-limit
* Several runs of one tool in one upload must each have their own category
  (``automationDetails.id`` up to its last ``/``): runs of the same tool and
  category are rejected since July 2025,
  https://github.blog/changelog/2024-05-06-code-scanning-will-stop-combining-runs-from-a-single-upload
  and https://docs.github.com/en/code-security/code-scanning/integrating-with-code-scanning/sarif-support-for-code-scanning
  ("runAutomationDetails object": category/run-id).
* A result needs a location whose ``physicalLocation.artifactLocation.uri`` is
  a file, best a path relative to the repository root (same page,
  "location object" and "artifactLocation object"); a package id is not a
  file, so it goes in ``logicalLocations`` and the result's properties.
* An upload is at most 10 MB gzipped (REST API, "Upload an analysis as SARIF
  data"): a scan's object holds every finding, so a scan big enough to pass
  that (or 20 runs) must be split before upload; the README says so.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator
from typing import Any
from urllib.parse import quote

import msgspec

from target_s3_endor.json_text import (
    decode_with_surrogates,
    encode_with_surrogates,
    has_surrogate_escape,
)
from target_s3_endor.naming import dig, safe_segment
from target_s3_endor.version import package_version

SARIF_SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
MAX_RESULTS_PER_RUN = 25_000
MAX_LOCATIONS_SHOWN = 10
MAX_TAGS_SHOWN = 10
TOOL_NAME = "Endor Labs"
TOOL_URI = "https://www.endorlabs.com"
# The category of each run when a scan needs several: ``endor-labs/part-N``.
# The run id after the last ``/`` is the scan's uuid (GitHub stores, not uses, it).
CATEGORY = "endor-labs"
# A finding with no dependency file still needs a file location; this
# repository-relative placeholder says so, and the package is in
# ``logicalLocations`` and ``properties.package``.
NO_FILE_URI = "endor-labs-no-dependency-file"
LEVELS = {
    "FINDING_LEVEL_CRITICAL": "error",
    "FINDING_LEVEL_HIGH": "error",
    "FINDING_LEVEL_MEDIUM": "warning",
    "FINDING_LEVEL_LOW": "note",
}
LEVEL_WORDS = {
    "FINDING_LEVEL_CRITICAL": "critical",
    "FINDING_LEVEL_HIGH": "high",
    "FINDING_LEVEL_MEDIUM": "medium",
    "FINDING_LEVEL_LOW": "low",
}
# Each level's band of ``security-severity`` as both GitHub and DefectDojo read it
# (lower bound excluded, upper included) and the score written when the CVSS score
# falls outside it.
SEVERITY_BANDS = {
    "critical": (9.0, 10.0, "9.5"),
    "high": (6.9, 8.9, "8.0"),
    "medium": (3.9, 6.9, "5.5"),
    "low": (0.0, 3.9, "2.0"),
}
_CVE = re.compile(r"CVE-[0-9]+-[0-9]+", re.IGNORECASE)
_CWE = re.compile(r"CWE-[0-9]+", re.IGNORECASE)
# A URI scheme (``npm:``, ``file:``) or a Windows drive (``C:``) at the start.
_SCHEME_OR_DRIVE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
# Characters kept as they are in a path: RFC 3986 pchar minus ``:`` (which
# would make the first segment read as a scheme) and minus sub-delims that
# some tools mishandle.
_PATH_SAFE = "/@+-._~"

RULES_PER_CHUNK = 1000

_decoder = msgspec.json.Decoder()


def decode_line(line: bytes) -> Any:
    """A spooled record; one with a lone surrogate escape is read by json_text."""
    try:
        return _decoder.decode(line)
    except msgspec.DecodeError:
        if not has_surrogate_escape(line):
            raise
        return decode_with_surrogates(line, parse_float=float)


_encoder = msgspec.json.Encoder()


def vulnerability_ids(finding: dict[str, Any]) -> list[str]:
    """The advisory's ids as Endor Labs names them: its own name first, then its aliases."""
    vulnerability = dig(finding, "spec", "finding_metadata", "vulnerability")
    found: list[str] = []
    for path in (("meta", "name"), ("cve_id",), ("spec", "aliases")):
        value = dig(vulnerability, *path)
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, str) and item.strip() and item.strip() not in found:
                found.append(item.strip())
    return found


def cve_ids(finding: dict[str, Any]) -> list[str]:
    """The finding's CVE ids (upper case, in Endor Labs' order)."""
    found = [
        match.group(0).upper() for i in vulnerability_ids(finding) if (match := _CVE.search(i))
    ]
    return list(dict.fromkeys(found))


def level_word(finding: dict[str, Any]) -> str:
    """``critical``, ``high``, ``medium``, ``low`` from ``spec.level``; else ``unknown``."""
    return LEVEL_WORDS.get(str(dig(finding, "spec", "level")), "unknown")


def rule_base(finding: dict[str, Any]) -> str:
    """What the rule is about: the advisory (``GHSA-x/CVE-y``), else the finding's name.

    DefectDojo takes a CVE only from the ``ruleId`` (``dojo/tools/sarif/parser.py``,
    ``cve_try``), so an advisory named by a GHSA id carries its first CVE alias too.
    """
    ids = vulnerability_ids(finding)
    if ids:
        cves = cve_ids(finding)
        if cves and cves[0] not in ids[0].upper():
            return f"{ids[0]}/{cves[0]}"
        return ids[0]
    name = dig(finding, "meta", "name")
    return name if isinstance(name, str) and name else "endor-finding"


def rule_id(finding: dict[str, Any]) -> str:
    """The rule a finding reports: what it is about and its level (``GHSA-x/CVE-y/critical``).

    GitHub and DefectDojo read a result's severity from its rule's
    ``security-severity``, so findings of one advisory at two levels are two rules.
    """
    return f"{rule_base(finding)}/{level_word(finding)}"


def cvss_score(finding: dict[str, Any]) -> float | None:
    """The vulnerability's CVSS score when the finding carries one."""
    vulnerability = dig(finding, "spec", "finding_metadata", "vulnerability")
    for path in (("spec", "cvss_v3_severity", "score"), ("cvss_score",), ("spec", "cvss_score")):
        value = dig(vulnerability, *path)
        if isinstance(value, int | float) and not isinstance(value, bool) and 0 < value <= 10:
            return float(value)
    return None


def security_severity(finding: dict[str, Any]) -> str | None:
    """The finding's own level as a score: its CVSS score if that reads as the same level.

    Both consumers turn the score into a band (GitHub: over 9.0 critical, 7.0-8.9 high,
    4.0-6.9 medium, 0.1-3.9 low; DefectDojo's ``cvss_to_severity`` the same with 9.0
    itself critical), so a score outside the level's band (a CVSS 9.8 advisory Endor
    Labs rates LOW, unreachable) would show another severity than Endor Labs gave:
    the band's own score is written instead.  None for a level Endor Labs did not give.
    """
    band = SEVERITY_BANDS.get(level_word(finding))
    if band is None:
        return None
    low, high, middle = band
    score = cvss_score(finding)
    if score is not None:
        text = f"{score:.1f}"
        if low < float(text) <= high:
            return text
    return middle


def cwe_ids(finding: dict[str, Any]) -> list[str]:
    """The advisory's CWE ids (``CWE-79``) from its database-specific data or Endor's record."""
    vulnerability = dig(finding, "spec", "finding_metadata", "vulnerability")
    found: list[str] = []
    for path in (
        ("spec", "database_specific", "cwe_ids"),
        ("spec", "raw", "endor_vulnerability", "cwe"),
    ):
        value = dig(vulnerability, *path)
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, str):
                found += [m.group(0).upper() for m in _CWE.finditer(item)]
    return list(dict.fromkeys(found))


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
                rule_base(finding),
                spec.get("target_dependency_package_name"),
            )
        )
    return hashlib.sha256(basis.encode("utf-8", "surrogatepass")).hexdigest()


def repository_path(path: object) -> str | None:
    """A dependency file path as a repository-relative URI, or None if it is not one.

    Backslashes become ``/`` and ``./`` goes; a path with a scheme (``npm://``,
    ``file://``), a drive (``C:``), a leading ``/`` (a machine's checkout path,
    not the repository's) or a ``..`` segment is no repository path.  The
    rest is percent-encoded (UTF-8), so non-ASCII names are valid URIs.
    """
    if not isinstance(path, str):
        return None
    text = path.strip().replace("\\", "/")
    if not text or text.startswith("/") or _SCHEME_OR_DRIVE.match(text):
        return None
    segments = [segment for segment in text.split("/") if segment not in {"", "."}]
    if not segments or ".." in segments:
        return None
    return quote("/".join(segments), safe=_PATH_SAFE, errors="replace")


def package_id(finding: dict[str, Any]) -> str | None:
    """The package the finding is about (``npm://lodash@4.17.20``), if it names one."""
    package = dig(finding, "spec", "target_dependency_package_name")
    return package if isinstance(package, str) and package else None


def locations(finding: dict[str, Any]) -> list[dict[str, Any]]:
    """Where the finding is: its dependency files (at most 10), else the placeholder file.

    The package id is never an artifact URI: it is the logical location of
    every physical one.
    """
    paths = dig(finding, "spec", "dependency_file_paths")
    uris = [repository_path(p) for p in paths] if isinstance(paths, list) else []
    kept = list(dict.fromkeys(uri for uri in uris if uri))[:MAX_LOCATIONS_SHOWN]
    package = package_id(finding)
    logical = [{"fullyQualifiedName": package, "kind": "module"}] if package else None
    found = []
    for uri in kept or [NO_FILE_URI]:
        location: dict[str, Any] = {
            "physicalLocation": {
                "artifactLocation": {"uri": uri},
                "region": {"startLine": 1},
            }
        }
        if logical:
            location["logicalLocations"] = logical
        found.append(location)
    return found


def to_result(finding: dict[str, Any]) -> dict[str, Any]:
    """One SARIF result for one finding: what is the finding's own (message, place, package)."""
    spec = finding.get("spec") or {}
    level = LEVELS.get(str(spec.get("level")), "warning")
    summary = spec.get("summary") or dig(finding, "meta", "description") or rule_base(finding)
    categories = [str(c) for c in spec.get("finding_categories") or [] if c != "security"]
    tags = list(dict.fromkeys(["security", *categories]))[:MAX_TAGS_SHOWN]
    properties: dict[str, Any] = {
        "tags": tags,
        "endor-finding-uuid": finding.get("uuid"),
        "endor-level": spec.get("level"),
        "package": package_id(finding),
        "dependency-file-paths": spec.get("dependency_file_paths") or [],
    }
    severity = security_severity(finding)
    if severity is not None:  # the rule's, repeated for readers that look here
        properties["security-severity"] = severity
    score = cvss_score(finding)
    if score is not None:
        properties["cvss-score"] = score
    ids = vulnerability_ids(finding)
    if ids:
        properties["vulnerability-ids"] = ids
    if spec.get("remediation"):
        properties["remediation"] = str(spec["remediation"])
    return {
        "ruleId": rule_id(finding),
        "level": level,
        "message": {"text": str(summary)},
        "locations": locations(finding),
        "partialFingerprints": {"endorFindingHash/v1": fingerprint(finding)},
        "properties": properties,
    }


def advisory_uri(finding: dict[str, Any]) -> str | None:
    """The advisory's public page: GitHub's for a GHSA id, NVD's for a CVE."""
    for identifier in vulnerability_ids(finding):
        if identifier.upper().startswith("GHSA-"):
            return f"https://github.com/advisories/{quote(identifier)}"
    cves = cve_ids(finding)
    return f"https://nvd.nist.gov/vuln/detail/{cves[0]}" if cves else None


def to_rule(finding: dict[str, Any], result: dict[str, Any]) -> dict[str, Any]:
    """The rule of a finding, from what every finding of the rule shares.

    A rule is an advisory (or a finding name) at one level: its name, texts, tags,
    CWEs and severity come from the advisory and the level only, never from one
    finding's summary, package or remediation (those are the result's).
    """
    base = rule_base(finding)
    word = level_word(finding)
    vulnerability = dig(finding, "spec", "finding_metadata", "vulnerability")
    advisory = dig(vulnerability, "spec", "summary")
    ids = vulnerability_ids(finding)
    about = f"{' / '.join(ids)}: {advisory}" if ids and advisory else str(advisory or base)
    text = f"{about} (Endor Labs level: {word})"
    cwes = cwe_ids(finding)
    tags = ["security", *(f"external/cwe/{cwe.lower()}" for cwe in cwes)][:MAX_TAGS_SHOWN]
    properties: dict[str, Any] = {"tags": tags}
    severity = result["properties"].get("security-severity")
    if severity is not None:
        properties["security-severity"] = severity
    if cwes:
        properties["cwe"] = cwes
    rule: dict[str, Any] = {
        "id": result["ruleId"],
        "name": base,
        "shortDescription": {"text": text[:1024]},
        "fullDescription": {"text": text},
        "help": {
            "text": f"{text}. Each result names the package, its dependency files and Endor "
            "Labs' remediation for it (properties.remediation)."
        },
        "defaultConfiguration": {"level": result["level"]},
        "properties": properties,
    }
    uri = advisory_uri(finding)
    if uri:
        rule["helpUri"] = uri
    return rule


def automation_id(part: int, scan_uuid: str | None) -> str:
    """``endor-labs/part-N/<scan uuid>``: category ``endor-labs/part-N``, one per run.

    The category is stable across scans (part 1 of today's scan replaces part 1
    of yesterday's), so alerts that go away are closed; the scan uuid is the
    run id, which GitHub stores but does not compare.
    """
    run_id = safe_segment(scan_uuid) if scan_uuid else ""
    return f"{CATEGORY}/part-{part}/{run_id}"


def _run_tail(
    rules: dict[str, bytes], tool_version: str, run_identity: str | None
) -> Iterator[bytes]:
    """Close a run's results and write its tool with the rules, a slice at a time.

    Rules are kept encoded: a run may hold 25,000 distinct rules, ~18 MB as
    JSON but ~85 MB as Python dicts.  ``run_identity``: the run's
    ``automationDetails.id``, or None for the only run of a file (the
    category the user uploads with applies then).
    """
    driver = {"name": TOOL_NAME, "informationUri": TOOL_URI, "semanticVersion": tool_version}
    yield b'],"tool":{"driver":' + _encoder.encode(driver)[:-1] + b',"rules":['
    encoded = list(rules.values())
    for start in range(0, len(encoded), RULES_PER_CHUNK):
        yield (b"," if start else b"") + b",".join(encoded[start : start + RULES_PER_CHUNK])
    yield b"]}}"
    if run_identity is not None:
        yield b',"automationDetails":' + _encoder.encode({"id": run_identity})
    yield b"}"


def _register_rule(
    rules: dict[str, bytes], finding: dict[str, Any], result: dict[str, Any]
) -> None:
    """Add the result's rule to the run's, keeping every rule true for all its results.

    Findings of one rule id share their advisory and level, so their rules are
    the same; should the API give one advisory two texts in one scan, the second
    gets a rule of its own (``<id>/<hash of its rule>``) rather than being described
    by the first's.
    """
    encoded = encode_with_surrogates(to_rule(finding, result), _encoder)
    known = rules.get(result["ruleId"])
    if known is None:
        rules[result["ruleId"]] = encoded
    elif known != encoded:
        result["ruleId"] = f"{result['ruleId']}/{hashlib.sha256(encoded).hexdigest()[:8]}"
        if result["ruleId"] not in rules:
            rules[result["ruleId"]] = encode_with_surrogates(to_rule(finding, result), _encoder)


def sarif_chunks(
    lines: Iterable[bytes],
    *,
    tool_version: str | None = None,
    max_results_per_run: int = MAX_RESULTS_PER_RUN,
) -> Iterator[bytes]:
    """Stream a SARIF log from JSON lines of findings.

    Each run is written as ``{"results": [...], "tool": {...}}`` so results go
    out as they are read and the run's rules follow them.  A file of one run
    has no ``automationDetails``; when a scan needs several runs, each gets
    its own category (``endor-labs/part-N``), as GitHub requires.
    """
    version = tool_version or package_version()
    yield b'{"$schema":"' + SARIF_SCHEMA_URI.encode() + b'","version":"2.1.0","runs":['
    rules: dict[str, bytes] = {}
    in_run = 0
    runs = 0
    scan_uuid: str | None = None
    for line in lines:
        finding = decode_line(line)
        if in_run == max_results_per_run:
            yield from _run_tail(rules, version, automation_id(runs, scan_uuid))
            rules, in_run = {}, 0
        if in_run == 0:
            yield (b"," if runs else b"") + b'{"results":['
            runs += 1
        if scan_uuid is None:
            found = dig(finding, "scan_context", "scan_uuid")
            scan_uuid = str(found) if found not in (None, "") else None
        result = to_result(finding)
        _register_rule(rules, finding, result)
        yield (b"," if in_run else b"") + encode_with_surrogates(result, _encoder)
        in_run += 1
    if runs == 0:
        yield b'{"results":['
    last_identity = automation_id(runs, scan_uuid) if runs > 1 else None
    yield from _run_tail(rules, version, last_identity)
    yield b"]}"
