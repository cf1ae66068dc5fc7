"""Our SARIF read the way GitHub code scanning and DefectDojo read it.

Findings that share an advisory or a finding name but not a level (a reachable
CRITICAL and an unreachable LOW of one GHSA) are generated; every finding must show
with its own level in both consumers, and everything on a rule must be true of every
result that points at it.  The readers (``tests/support/github_sarif.alerts``,
``tests/support/defectdojo.sarif_findings``) follow GitHub's documentation and
DefectDojo's ``dojo/tools/sarif/parser.py``.
"""

from __future__ import annotations

import json
from typing import Any

import msgspec
from hypothesis import given, settings
from hypothesis import strategies as st

from target_s3_endor.formats.sarif import sarif_chunks
from tests.support.defectdojo import ENDOR_SEVERITY, sarif_findings
from tests.support.github_sarif import alerts, upload_problems
from tests.test_target.conftest import finding

LEVELS = [
    "FINDING_LEVEL_CRITICAL",
    "FINDING_LEVEL_HIGH",
    "FINDING_LEVEL_MEDIUM",
    "FINDING_LEVEL_LOW",
]
# (name, CVE alias, summary, CWEs): advisories as Endor Labs names them.
ADVISORIES = [
    ("GHSA-jfh8-c2jp-5v3q", "CVE-2021-44228", "Log4Shell", ["CWE-917", "CWE-502"]),
    ("GHSA-p6mc-m468-83gw", "CVE-2020-8203", "Prototype pollution in lodash", ["CWE-1321"]),
    ("CVE-2018-18074", None, "requests leaks credentials", []),
    ("GHSA-xxxx-no-cve", None, "An advisory with no CVE", ["CWE-79"]),
]
PATHS = ["requirements.txt", "web/package-lock.json", "/abs/path/pom.xml", "svc/go.mod"]


def sarif_of(findings: list[dict[str, Any]], **options: Any) -> dict[str, Any]:
    encoded = [msgspec.json.encode(f) + b"\n" for f in findings]
    return json.loads(b"".join(sarif_chunks(encoded, **options)))


def with_advisory(item: dict[str, Any], advisory: int, score: float | None) -> dict[str, Any]:
    name, cve, summary, cwes = ADVISORIES[advisory]
    spec: dict[str, Any] = {"summary": summary, "database_specific": {"cwe_ids": cwes}}
    if cve:
        spec["aliases"] = [cve]
    if score is not None:
        spec["cvss_v3_severity"] = {"score": score}
    item["spec"]["finding_metadata"] = {"vulnerability": {"meta": {"name": name}, "spec": spec}}
    return item


one_finding = st.tuples(
    st.sampled_from(LEVELS),
    st.one_of(st.none(), st.integers(0, len(ADVISORIES) - 1)),
    st.one_of(st.none(), st.floats(0.1, 10.0)),
    st.lists(st.sampled_from(PATHS), max_size=3),
)


def build(specs: list[tuple[str, int | None, float | None, list[str]]]) -> list[dict[str, Any]]:
    findings = []
    for n, (level, advisory, score, paths) in enumerate(specs):
        item = finding(n, level=level)
        item["spec"]["dependency_file_paths"] = paths
        if advisory is not None:
            # One advisory has one score, as the API serves it.
            with_advisory(item, advisory, None if score is None else round(2.5 * advisory + 2, 1))
        findings.append(item)
    return findings


@settings(max_examples=60, deadline=None)
@given(st.lists(one_finding, min_size=1, max_size=30), st.integers(2, 30))
def test_every_finding_keeps_its_own_level_in_github_and_defectdojo(
    specs: list[Any], per_run: int
) -> None:
    findings = build(specs)
    by_uuid = {f["uuid"]: f for f in findings}
    log = sarif_of(findings, max_results_per_run=per_run)
    assert upload_problems(log) == []
    shown = alerts(log)
    assert len(shown) == len(findings)
    for alert in shown:
        source = by_uuid[alert["result"]["properties"]["endor-finding-uuid"]]
        level = source["spec"]["level"]
        assert alert["severity"] == level.removeprefix("FINDING_LEVEL_").lower()
    imported = sarif_findings(log)
    assert len(imported) == sum(len(r["result"]["locations"]) for r in shown)
    for item in imported:
        source = by_uuid[item["result"]["properties"]["endor-finding-uuid"]]
        assert item["severity"] == ENDOR_SEVERITY[source["spec"]["level"]]
        assert item["unique_id_from_tool"].startswith("endorFindingHash:")
        advisory = (source["spec"].get("finding_metadata") or {}).get("vulnerability")
        cve = ((advisory or {}).get("spec") or {}).get("aliases") or []
        if (advisory or {}).get("meta", {}).get("name", "").startswith("CVE-"):
            cve = [advisory["meta"]["name"]]
        assert item["vulnerability_ids"] == cve[:1]
        files = [p for p in source["spec"]["dependency_file_paths"] if not p.startswith("/")]
        assert item["file_path"] in (files or ["endor-labs-no-dependency-file"])
        assert item["line"] == 1


@settings(max_examples=60, deadline=None)
@given(st.lists(one_finding, min_size=1, max_size=30))
def test_everything_on_a_rule_is_true_of_every_result_of_it(specs: list[Any]) -> None:
    findings = build(specs)
    by_uuid = {f["uuid"]: f for f in findings}
    for alert in alerts(sarif_of(findings)):
        rule, source = alert["rule"], by_uuid[alert["result"]["properties"]["endor-finding-uuid"]]
        advisory = (source["spec"].get("finding_metadata") or {}).get("vulnerability")
        word = source["spec"]["level"].removeprefix("FINDING_LEVEL_").lower()
        if advisory is None:
            assert rule["name"] == source["meta"]["name"]
            assert rule["properties"]["tags"] == ["security"]
            assert "helpUri" not in rule
        else:
            name, cve, summary, cwes = next(
                a for a in ADVISORIES if a[0] == advisory["meta"]["name"]
            )
            assert rule["name"] == (f"{name}/{cve}" if cve else name)
            assert summary in rule["shortDescription"]["text"]
            assert rule["properties"]["tags"] == ["security"] + [
                f"external/cwe/{c.lower()}" for c in cwes
            ]
            assert rule["properties"].get("cwe", []) == cwes
            assert name in rule["helpUri"]
        assert f"level: {word}" in rule["fullDescription"]["text"]
        assert rule["defaultConfiguration"]["level"] == alert["result"]["level"]
        # Nothing one finding's own is on the rule.
        assert source["spec"]["summary"] not in json.dumps(rule)


def test_two_criticals_and_a_low_of_one_advisory_show_as_two_criticals_and_a_low() -> None:
    findings = [
        with_advisory(finding(n, level=level), 0, 10.0)
        for n, level in enumerate(
            ["FINDING_LEVEL_CRITICAL", "FINDING_LEVEL_LOW", "FINDING_LEVEL_CRITICAL"]
        )
    ]
    log = sarif_of(findings)
    assert [a["severity"] for a in alerts(log)] == ["critical", "low", "critical"]
    imported = sarif_findings(log)
    assert [f["severity"] for f in imported] == ["Critical", "Low", "Critical"]
    assert [f["vulnerability_ids"] for f in imported] == [["CVE-2021-44228"]] * 3
    assert [f["cwe"] for f in imported] == [502] * 3
    # The CVSS score is kept where it says the finding's level, and on every result.
    assert [f["cvssv3_score"] for f in imported] == [10.0, 2.0, 10.0]
    assert {r["properties"]["cvss-score"] for r in log["runs"][0]["results"]} == {10.0}
    assert [r["id"] for r in log["runs"][0]["tool"]["driver"]["rules"]] == [
        "GHSA-jfh8-c2jp-5v3q/CVE-2021-44228/critical",
        "GHSA-jfh8-c2jp-5v3q/CVE-2021-44228/low",
    ]


def test_an_advisory_served_with_two_texts_gets_two_rules() -> None:
    first = with_advisory(finding(0), 1, None)
    second = with_advisory(finding(1), 1, None)
    second["spec"]["finding_metadata"]["vulnerability"]["spec"]["summary"] = "Revised text"
    log = sarif_of([first, second])
    rules = {r["id"]: r for r in log["runs"][0]["tool"]["driver"]["rules"]}
    assert len(rules) == 2
    for result, summary in zip(log["runs"][0]["results"], ["Prototype", "Revised"], strict=True):
        assert summary in rules[result["ruleId"]]["shortDescription"]["text"]
