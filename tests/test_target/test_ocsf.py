"""OCSF 1.3.0 events from Endor Labs objects (``format: ocsf``), checked by an OCSF library.

Every event is checked by ``tests/support/ocsf_check.py``: the pydantic-ocsf
models and the OCSF 1.3.0 schema that library ships.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from target_s3_endor.formats import ocsf
from tests.support.emulator_client import all_objects
from tests.support.ocsf_check import ocsf_problems
from tests.support.schema_records import from_tap_schema
from tests.support.servers import REPO_ROOT, ServerProcess

ARRIVAL = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
SCHEMAS = REPO_ROOT / "tap_endorlabs" / "schemas"
RESOURCES = {
    "audit_logs": "audit-logs",
    "authentication_logs": "authentication-logs",
    "findings": "findings",
    "finding_logs": "finding-logs",
}


def event_for(stream: str, record: dict[str, Any]) -> dict[str, Any]:
    mapper = ocsf.mapper_for(stream)
    assert mapper is not None
    return mapper(record, ARRIVAL, stream)


def assert_valid(event: dict[str, Any]) -> None:
    problems = ocsf_problems(event)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("stream", sorted(RESOURCES))
def test_every_emulator_object_maps_to_a_valid_event(stream: str, emulator: ServerProcess) -> None:
    objects = all_objects(emulator, RESOURCES[stream])
    assert objects
    for record in objects:
        event = event_for(stream, record)
        assert_valid(event)
        assert event["metadata"]["version"] == "1.3.0"
        assert event["type_uid"] == event["class_uid"] * 100 + event["activity_id"]
        assert event["unmapped"] == record  # nothing is lost
        created = datetime.fromisoformat(record["meta"]["create_time"])
        assert event["time"] == int(created.timestamp() * 1000)


def test_classes_follow_the_record(emulator: ServerProcess) -> None:
    audit = all_objects(emulator, "audit-logs")[0]
    assert event_for("audit_logs", audit)["class_uid"] == 6003
    auth = all_objects(emulator, "authentication-logs")[0]
    assert event_for("authentication_logs", auth)["class_uid"] == 3002
    findings = all_objects(emulator, "findings")
    classes = {event_for("findings", f)["class_uid"] for f in findings}
    assert classes == {2002, 2004}
    for finding in findings:
        event = event_for("findings", finding)
        has_cve = "finding_metadata" in finding["spec"]
        assert event["class_uid"] == (2002 if has_cve else 2004)
        if has_cve:
            alias = finding["spec"]["finding_metadata"]["vulnerability"]["spec"]["aliases"][0]
            assert event["vulnerabilities"][0]["cve"]["uid"] == alias


@pytest.mark.parametrize(
    ("level", "severity_id"),
    [
        ("FINDING_LEVEL_CRITICAL", 5),
        ("FINDING_LEVEL_HIGH", 4),
        ("FINDING_LEVEL_MEDIUM", 3),
        ("FINDING_LEVEL_LOW", 2),
        ("FINDING_LEVEL_UNSPECIFIED", 0),
    ],
)
def test_severities(level: str, severity_id: int) -> None:
    record = {"uuid": "f1", "meta": {"name": "x"}, "spec": {"level": level}}
    event = event_for("findings", record)
    assert event["severity_id"] == severity_id
    assert_valid(event)


@pytest.mark.parametrize(
    ("operation", "activity_id", "status_id"),
    [("OPERATION_CREATE", 1, 1), ("OPERATION_UPDATE", 2, 1), ("OPERATION_DELETE", 3, 4)],
)
def test_finding_logs_are_the_findings_activity(
    operation: str, activity_id: int, status_id: int
) -> None:
    record = {
        "uuid": "log-1",
        "meta": {"name": "finding-log", "create_time": "2026-01-01T00:00:00Z"},
        "spec": {
            "operation": operation,
            "finding_uuid": "finding-9",
            "level": "FINDING_LEVEL_HIGH",
        },
    }
    event = event_for("finding_logs", record)
    assert_valid(event)
    assert (event["activity_id"], event["status_id"]) == (activity_id, status_id)
    assert event["finding_info"]["uid"] == "finding-9"
    assert event["type_uid"] == event["class_uid"] * 100 + activity_id


def test_audit_log_failure_and_ipv6_port() -> None:
    record = {
        "meta": {"name": "delete x", "create_time": "2026-01-01T00:00:00.123Z"},
        "spec": {
            "operation": "OPERATION_UPSERT",
            "remote_address": "[2001:db8::1]:443",
            "claims": ["user=ann@example.com"],
            "error": {"code": 7, "message": "permission denied"},
        },
    }
    event = event_for("audit_logs", record)
    assert_valid(event)
    assert event["activity_id"] == 99
    assert event["src_endpoint"] == {"ip": "2001:db8::1", "port": 443}
    assert event["actor"]["user"]["name"] == "ann@example.com"
    assert (event["status_id"], event["status_code"]) == (2, "7")
    assert event["time"] == 1767225600123


def test_today_s_json_output_is_not_ocsf(emulator: ServerProcess) -> None:
    """What format: json writes (the bare API object) fails the same check."""
    record = all_objects(emulator, "audit-logs")[0]
    assert ocsf_problems(record)


def _tap_schema(stream: str) -> dict[str, Any]:
    return json.loads((SCHEMAS / f"{stream}.json").read_text())


def _record_strategy(stream: str) -> st.SearchStrategy[dict[str, Any]]:
    return from_tap_schema(_tap_schema(stream))


@pytest.mark.parametrize("stream", sorted(RESOURCES))
def test_any_record_the_tap_schema_admits_maps_to_a_valid_event(stream: str) -> None:
    @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
    @given(record=_record_strategy(stream))
    def check(record: dict[str, Any]) -> None:
        event = event_for(stream, record)
        assert_valid(event)
        assert event["unmapped"] == record

    check()


def test_any_vulnerability_finding_maps_to_a_valid_event() -> None:
    """The parts that decide a finding's class, drawn densely (the schema rarely makes them)."""
    spec = st.fixed_dictionaries(
        {},
        optional={
            "level": st.sampled_from([*ocsf.SEVERITY_IDS, "FINDING_LEVEL_UNSPECIFIED"]),
            "summary": st.one_of(st.none(), st.text()),
            "finding_tags": st.lists(st.sampled_from(["FINDING_TAGS_FIX_AVAILABLE", "X"])),
            "finding_categories": st.lists(st.text(max_size=30)),
            "target_dependency_name": st.one_of(st.none(), st.text()),
            "target_dependency_version": st.one_of(st.none(), st.text()),
            "target_dependency_package_name": st.one_of(st.none(), st.text()),
            "remediation": st.one_of(st.none(), st.text()),
            "finding_metadata": st.fixed_dictionaries(
                {
                    "vulnerability": st.fixed_dictionaries(
                        {
                            "meta": st.fixed_dictionaries(
                                {"name": st.sampled_from(["GHSA-abcd-efgh-ijkm", "other"])}
                            ),
                            "spec": st.fixed_dictionaries(
                                {
                                    "aliases": st.lists(
                                        st.sampled_from(["CVE-2024-12345", "OSV-1", ""])
                                    ),
                                    "cvss_v3_severity": st.fixed_dictionaries(
                                        {},
                                        optional={
                                            "score": st.one_of(st.floats(0, 10), st.none()),
                                            "vector": st.one_of(st.text(), st.none()),
                                        },
                                    ),
                                }
                            ),
                        }
                    )
                }
            ),
        },
    )
    record = st.fixed_dictionaries(
        {
            "meta": st.fixed_dictionaries(
                {"name": st.text()},
                optional={
                    "create_time": st.datetimes(timezones=st.just(UTC)).map(
                        lambda d: d.isoformat()
                    ),
                },
            ),
            "spec": spec,
        },
        optional={"uuid": st.one_of(st.none(), st.text()), "tenant_meta": st.none()},
    )

    @settings(max_examples=150, deadline=None)
    @given(finding=record)
    def check(finding: dict[str, Any]) -> None:
        event = event_for("findings", finding)
        assert_valid(event)
        assert event["class_uid"] == (2002 if ocsf.advisory_ids(finding) else 2004)

    check()


def test_streams_without_a_class_have_no_mapper() -> None:
    assert ocsf.mapper_for("projects") is None
    assert ocsf.mapper_for("scan_results") is None
    assert Path(SCHEMAS / "projects.json").exists()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1969-12-31T23:59:59.9995Z", -1),
        ("0001-01-01T00:00:00.001Z", -62135596799999),
        ("2026-01-01T00:00:00.123999Z", 1767225600123),
    ],
)
def test_time_is_exact_milliseconds(text: str, expected: int) -> None:
    event = event_for("audit_logs", {"meta": {"name": "x", "create_time": text}, "spec": {}})
    assert event["time"] == expected
