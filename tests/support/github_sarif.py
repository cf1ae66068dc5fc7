"""GitHub code scanning's documented SARIF upload rules, as a checker for tests.

Written from GitHub's documentation, not from our writer:

* Limits (hard, the upload is rejected past them): runs per file 20, results
  per run 25,000, rules per run 25,000, tool extensions per run 100,
  locations per result 1,000, tags per rule 20
  (docs.github.com/en/code-security/code-scanning/troubleshooting-sarif-uploads/results-exceed-limit).
* An upload is at most 10 MB gzipped (REST API "Upload an analysis as SARIF data").
* Runs of the same tool and category in one upload are rejected since July 2025
  (github.blog/changelog/2024-05-06-code-scanning-will-stop-combining-runs-from-a-single-upload);
  the category is ``automationDetails.id`` up to its last ``/``, empty when it
  has none (docs "SARIF support for code scanning", runAutomationDetails object).
* A result has ``ruleId``, ``message.text`` and at least one location with a
  ``physicalLocation.artifactLocation.uri``, best relative to the repository
  root, and a ``region.startLine`` (same page: result, location, artifactLocation
  and region objects); upload tools reject absolute non-file URIs.
* ``level`` is one of error, warning, note, none; ``security-severity`` is a
  number from 0.0 to 10.0 written as a string; ``partialFingerprints`` keep
  alerts from duplicating.
"""

from __future__ import annotations

import gzip
import json
from typing import Any
from urllib.parse import unquote_to_bytes, urlsplit

MAX_GZIPPED_BYTES = 10 * 1000 * 1000  # "10 MB"
MAX_RUNS = 20
MAX_RESULTS = 25_000
MAX_RULES = 25_000
MAX_EXTENSIONS = 100
MAX_LOCATIONS = 1_000
MAX_RULE_TAGS = 20
LEVELS = {"error", "warning", "note", "none"}


def category(run: dict[str, Any]) -> str:
    """The run's analysis category: its automationDetails.id up to the last ``/``."""
    run_id = (run.get("automationDetails") or {}).get("id") or ""
    return run_id.rsplit("/", 1)[0] if "/" in run_id else ""


def uri_problem(uri: Any) -> str | None:
    """Why an artifact URI is not a repository-relative file path, or None."""
    if not isinstance(uri, str) or not uri:
        return "empty artifact uri"
    parts = urlsplit(uri)
    if parts.scheme or parts.netloc or uri.startswith("/"):
        return f"absolute artifact uri {uri!r}"
    if ".." in uri.split("/"):
        return f"artifact uri {uri!r} leaves the repository"
    try:
        unquote_to_bytes(uri).decode("utf-8")
    except UnicodeDecodeError:
        return f"artifact uri {uri!r} does not decode to UTF-8"
    if any(ord(char) > 126 or char in ' "<>\\^`{|}' for char in uri):
        return f"artifact uri {uri!r} holds characters a URI may not"
    return None


def _result_problems(result: dict[str, Any], where: str) -> list[str]:
    problems = []
    if not result.get("ruleId"):
        problems.append(f"{where}: no ruleId")
    if not (result.get("message") or {}).get("text"):
        problems.append(f"{where}: no message.text")
    if result.get("level", "warning") not in LEVELS:
        problems.append(f"{where}: level {result.get('level')!r}")
    locations = result.get("locations") or []
    if not 1 <= len(locations) <= MAX_LOCATIONS:
        problems.append(f"{where}: {len(locations)} locations")
    for location in locations:
        physical = location.get("physicalLocation") or {}
        problem = uri_problem((physical.get("artifactLocation") or {}).get("uri"))
        if problem:
            problems.append(f"{where}: {problem}")
        if not (physical.get("region") or {}).get("startLine", 0) >= 1:
            problems.append(f"{where}: no region.startLine")
    if not result.get("partialFingerprints"):
        problems.append(f"{where}: no partialFingerprints")
    severity = (result.get("properties") or {}).get("security-severity")
    if severity is not None and not (isinstance(severity, str) and 0 <= float(severity) <= 10):
        problems.append(f"{where}: security-severity {severity!r}")
    return problems


def _run_problems(run: dict[str, Any], number: int) -> list[str]:
    problems = []
    results = run.get("results") or []
    driver = (run.get("tool") or {}).get("driver") or {}
    rules = driver.get("rules") or []
    if not driver.get("name"):
        problems.append(f"run {number}: no tool.driver.name")
    if len(results) > MAX_RESULTS:
        problems.append(f"run {number}: {len(results)} results")
    if len(rules) > MAX_RULES:
        problems.append(f"run {number}: {len(rules)} rules")
    if len((run.get("tool") or {}).get("extensions") or []) > MAX_EXTENSIONS:
        problems.append(f"run {number}: too many tool extensions")
    for rule in rules:
        if len((rule.get("properties") or {}).get("tags") or []) > MAX_RULE_TAGS:
            problems.append(f"run {number}: rule {rule.get('id')} has too many tags")
    for index, result in enumerate(results):
        problems += _result_problems(result, f"run {number} result {index}")
    return problems


def upload_problems(log: dict[str, Any], raw: bytes | None = None) -> list[str]:
    """Every documented upload rule the SARIF log breaks (empty: GitHub accepts it).

    ``raw``: the file's bytes as written, for the gzipped size (else re-encoded).
    """
    problems = []
    if log.get("version") != "2.1.0":
        problems.append(f"version {log.get('version')!r}")
    runs = log.get("runs") or []
    if len(runs) > MAX_RUNS:
        problems.append(f"{len(runs)} runs in one file")
    seen: set[tuple[str, str]] = set()
    for number, run in enumerate(runs):
        identity = (((run.get("tool") or {}).get("driver") or {}).get("name", ""), category(run))
        if identity in seen:
            problems.append(f"run {number}: tool and category {identity} repeat an earlier run")
        seen.add(identity)
        problems += _run_problems(run, number)
    gzipped = len(gzip.compress(raw if raw is not None else json.dumps(log).encode()))
    if gzipped > MAX_GZIPPED_BYTES:
        problems.append(f"{gzipped} bytes gzipped")
    return problems


# How code scanning shows a result (docs "SARIF support for code scanning",
# reportingDescriptor object: "security-severity" is read from the rule's
# properties, and scores map "over 9.0 is critical, 7.0 to 8.9 is high, 4.0 to 6.9
# is medium and 0.1 to 3.9 is low"; result object: of ``locations`` "only the
# first value of this array is used").


def severity_of_score(score: float) -> str:
    """GitHub's band for a ``security-severity`` score."""
    if score > 9.0:
        return "critical"
    if score >= 7.0:
        return "high"
    if score >= 4.0:
        return "medium"
    return "low" if score > 0 else "none"


def alerts(log: dict[str, Any]) -> list[dict[str, Any]]:
    """Each result as code scanning shows it: its rule's severity and its first file."""
    shown = []
    for run in log.get("runs") or []:
        rules = {
            r["id"]: r for r in ((run.get("tool") or {}).get("driver") or {}).get("rules") or []
        }
        for result in run.get("results") or []:
            rule = rules.get(result.get("ruleId"), {})
            score = (rule.get("properties") or {}).get("security-severity")
            level = result.get("level") or (rule.get("defaultConfiguration") or {}).get("level")
            first = (result.get("locations") or [{}])[0]
            shown.append(
                {
                    "rule": rule,
                    "result": result,
                    "severity": severity_of_score(float(score)) if score else level,
                    "file": (
                        (first.get("physicalLocation") or {}).get("artifactLocation") or {}
                    ).get("uri"),
                }
            )
    return shown
