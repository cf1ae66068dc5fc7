"""Issue 11 as plain tests: an input of ../shared/cases/target/ and the minimal
failures the property test (test_property.py) found, each with its right outcome
(those about names pass since h3-names was merged).

Every test feeds its Singer lines to the real target line by line
(``property_harness.drive``) on a versioned bucket and checks all the property
test's invariants, then what is particular to the case.  Each was marked
xfail(strict) until its fault's fix landed; all pass now.
"""

from __future__ import annotations

import gzip
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.test_target.conftest import shared_case
from tests.test_target.property_harness import INVARIANTS, Bucket, Run, drive, input_line
from tests.test_target.singer_streams import Scenario, Step

pytestmark = pytest.mark.timeout(120)

SCAN_CONTEXT = {
    "scan_uuid": "scan-1",
    "scan_time": "2025-05-05T08:00:00Z",
    "scan_type": "schedule",
    "ref": "main",
    "project_uuid": "proj-1",
    "project_name": "https://github.com/example/app",
    "namespace": "example",
}
OPEN_SCHEMA = {"type": "object", "properties": {}, "additionalProperties": True}


def scenario_of(text: str, **config: Any) -> Scenario:
    """A Singer file as a scenario (no BATCH steps: a file cannot carry its batch files)."""
    steps = [Step(json.loads(line)) for line in text.splitlines() if line.strip()]
    return Scenario(config=config, steps=steps)


def schema_message(stream: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"type": "SCHEMA", "stream": stream, "schema": schema or OPEN_SCHEMA}


def record_message(stream: str, record: dict[str, Any]) -> dict[str, Any]:
    return {"type": "RECORD", "stream": stream, "record": record}


def state_message(value: Any) -> dict[str, Any]:
    return {"type": "STATE", "value": value}


def audit(number: int, namespace: str = "acme") -> dict[str, Any]:
    return {
        "uuid": f"audit-{number}",
        "meta": {"create_time": "2025-05-05T08:00:00.123Z"},
        "tenant_meta": {"namespace": namespace},
    }


@pytest.fixture
def run_scenario(config: dict[str, Any], s3_client: Any, bucket: str, tmp_path: Path) -> Any:
    """Feed a scenario to the target on a versioned bucket; check every invariant."""
    s3_client.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})

    def run(scenario: Scenario) -> Run:
        result = drive(scenario, config, Bucket(s3_client, bucket), tmp_path)
        for check in INVARIANTS.values():
            check(scenario, result)
        return result

    return run


# The cases of ../shared/cases/target/: interleaved-scans and schema-change-mid-scan are
# test_scans.py's, sarif-package-locations is tested with SARIF.


def test_decimal_in_state_is_printed_back_as_received(run_scenario: Any) -> None:
    run = run_scenario(scenario_of(shared_case("target/decimal-in-state.singer")))

    bookmark = {"replication_key": "seq", "replication_key_value": Decimal("1727740800.25")}
    printed = [json.loads(p.text, parse_float=Decimal) for p in run.prints]
    assert printed == [{"bookmarks": {"audit_logs": bookmark}}]


# Minimal failures the property test found.


@pytest.mark.parametrize("compression", ["gzip", None])
def test_batch_records_reach_s3_before_its_state(
    run_scenario: Any, compression: str | None
) -> None:
    records = [audit(1), audit(2)]
    steps = [
        Step(schema_message("audit_logs")),
        Step(
            {"type": "BATCH", "stream": "audit_logs"},
            batch_records=records,
            batch_compression=compression,
        ),
        Step(state_message({"bookmarks": {"audit_logs": {"n": 2}}})),
    ]
    run = run_scenario(Scenario(config={}, steps=steps))

    stored = sorted(r["uuid"] for records in run.objects.values() for r in records)
    assert stored == ["audit-1", "audit-2"]


def test_schema_without_properties_is_an_open_object(run_scenario: Any) -> None:
    steps = [
        Step(schema_message("audit_logs", {"type": "object"})),
        Step(record_message("audit_logs", audit(1))),
        Step(state_message({"n": 1})),
    ]
    run = run_scenario(Scenario(config={}, steps=steps))

    assert [json.loads(p.text) for p in run.prints] == [{"n": 1}]


@pytest.mark.parametrize(
    ("compression", "stream"),
    [("zip", "../../x"), ("gzip", "../../x"), ("zip", "ctl\x07\x1b[31m")],
)
def test_names_inside_objects_are_safe(run_scenario: Any, compression: str, stream: str) -> None:
    steps = [Step(schema_message(stream)), Step(record_message(stream, audit(1)))]
    run_scenario(Scenario(config={"compression": compression}, steps=steps))


@pytest.mark.parametrize("ref", ["é" * 40, "xxxx" + "é" * 40])
def test_a_long_ref_segment_still_decodes(run_scenario: Any, ref: str) -> None:
    finding = {"uuid": "f-1", "scan_context": {**SCAN_CONTEXT, "ref": ref, "last": True}}
    steps = [Step(schema_message("findings")), Step(record_message("findings", finding))]
    run_scenario(Scenario(config={}, steps=steps))


def test_namespaces_that_fold_together_stay_apart(run_scenario: Any) -> None:
    steps = [
        Step(schema_message("audit_logs")),
        Step(record_message("audit_logs", audit(1, namespace="a/b"))),
        Step(record_message("audit_logs", audit(2, namespace="a:b"))),
    ]
    run_scenario(Scenario(config={}, steps=steps))


@pytest.mark.parametrize("last", [{}, 0, None, False, ""])
def test_the_last_state_is_printed_whatever_its_value(run_scenario: Any, last: Any) -> None:
    steps = [
        Step(schema_message("audit_logs")),
        Step(record_message("audit_logs", audit(1))),
        Step(state_message({"n": 1})),
        Step(record_message("audit_logs", audit(2))),
        Step(state_message(last)),
    ]
    run = run_scenario(Scenario(config={}, steps=steps))

    assert json.loads(run.prints[-1].text) == last


def test_batch_files_are_written_as_the_sdk_reads_them(tmp_path: Path) -> None:
    """The harness's BATCH files: JSON lines, gzip or not, behind a file:// manifest."""
    records = [{"a": 1}, {"b": 2}, {"c": 3}]
    step = Step({"type": "BATCH", "stream": "s"}, batch_records=records, batch_compression="gzip")
    message = json.loads(input_line(step, 0, tmp_path))
    assert message["encoding"] == {"format": "jsonl", "compression": "gzip"}
    assert all(uri.startswith("file://") for uri in message["manifest"])
    lines = b"".join(
        gzip.decompress(Path(uri.removeprefix("file://")).read_bytes())
        for uri in message["manifest"]
    )
    assert [json.loads(line) for line in lines.splitlines()] == records
