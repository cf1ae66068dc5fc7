"""``format: ocsf`` end to end: the real target writes OCSF events a reader can check."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.s3_listing import decode_member, member_name
from tests.support.ocsf_check import ocsf_problems
from tests.test_target.conftest import (
    all_objects,
    audit_log,
    finding,
    lines,
    open_with_tools,
    record,
    run_cli_in_process,
    schema,
    state,
)


@pytest.mark.parametrize("compression", ["gzip", "zip", "none"])
def test_ocsf_objects_hold_one_valid_event_a_line(
    compression: str, config: dict, s3_client: Any, bucket: str, tmp_path: Path
) -> None:
    project = {"uuid": "p1", "meta": {"name": "repo", "create_time": "2025-01-02T00:00:00Z"},
               "tenant_meta": {"namespace": "acme"}, "spec": {}}  # fmt: skip
    text = lines(
        schema("audit_logs"),
        *(record("audit_logs", audit_log(n)) for n in range(12)),
        schema("findings"),
        *(record("findings", finding(n, last=n == 3)) for n in range(4)),
        schema("projects"),
        record("projects", project),
        state({"done": True}),
    )
    run = run_cli_in_process(
        {**config, "format": "ocsf", "compression": compression}, text, tmp=tmp_path
    )
    assert run.returncode == 0, run.stderr
    assert run.states == [{"done": True}]
    by_kind: dict[str, list[dict[str, Any]]] = {}
    for key, data in all_objects(s3_client, bucket).items():
        name = member_name(key, data)
        records = decode_member(name, open_with_tools(key, data, tmp_path))
        if "/projects/" in key:
            assert name.endswith(".json") and not name.endswith(".ocsf.jsonl")
            assert records == [project]  # no OCSF class: plain JSON as before
            continue
        assert name.endswith(".ocsf.jsonl")
        by_kind.setdefault("audit" if "/audit-logs/" in key else "findings", []).extend(records)
    assert len(by_kind["audit"]) == 12 and len(by_kind["findings"]) == 4
    for event in by_kind["audit"] + by_kind["findings"]:
        assert not ocsf_problems(event), ocsf_problems(event)
    assert {event["class_uid"] for event in by_kind["audit"]} == {6003}
    # The test findings carry no CVE or GHSA id: Detection Finding, severity high (4).
    assert {(e["class_uid"], e["severity_id"]) for e in by_kind["findings"]} == {(2004, 4)}
    assert sorted(e["unmapped"]["uuid"] for e in by_kind["audit"]) == [
        audit_log(n)["uuid"] for n in range(12)
    ]


def test_a_drain_by_another_stream_keeps_the_open_scans_format(
    config: dict, s3_client: Any, bucket: str, tmp_path: Path
) -> None:
    """Projects (plain JSON) drain while a scan is open: its object stays OCSF, at one key."""
    project = {"uuid": "p1", "meta": {"create_time": "2025-01-02T00:00:00Z"},
               "tenant_meta": {"namespace": "acme"}}  # fmt: skip
    text = lines(
        schema("findings"),
        *(record("findings", finding(n)) for n in range(3)),  # no last: the scan stays open
        schema("projects"),
        record("projects", project),
        record("projects", {**project, "uuid": "p2"}),  # full: this sink drains the scan
        state({"done": True}),
    )
    settings = {**config, "format": "ocsf", "compression": "gzip", "batch_max_records": 2}
    run = run_cli_in_process(settings, text, tmp=tmp_path)
    assert run.returncode == 0, run.stderr
    keys = sorted(all_objects(s3_client, bucket))
    findings = [key for key in keys if "/projects/" not in key]
    assert len(findings) == 1 and findings[0].endswith(".ocsf.jsonl.gz"), keys
    assert all(key.endswith(".json.gz") for key in keys if "/projects/" in key)
