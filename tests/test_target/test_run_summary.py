"""The run summary counts each object once, by stream and namespace; every layout's objects
reach it (and the run's observers) through the one upload path."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from target_s3_endor.storage.run_summary import RunSummary
from target_s3_endor.storage.written import ObjectWritten
from tests.test_target.conftest import (
    all_objects,
    audit_log,
    finding,
    lines,
    record,
    records_in,
    run_cli_in_process,
    run_in_process,
    schema,
    state,
)

ROOT = "endor/uuid-exp"


def test_rows_per_stream_and_namespace_and_a_rewritten_scan_counts_once() -> None:
    summary = RunSummary(root=ROOT)

    def wrote(stream: str, key: str, partition: str, records: int, size: int) -> None:
        summary.wrote(ObjectWritten(key, stream, partition, records, None, None, size))

    wrote("audit_logs", f"{ROOT}/acme/audit-logs/2025/01/01/a.zip", "acme", 10, 100)
    wrote("audit_logs", f"{ROOT}/acme.platform/audit-logs/2025/01/01/b.zip", "acme.platform", 5, 50)
    scan = f"{ROOT}/acme/p-app/schedule/main/20250101T000000Z_s1.zip"
    wrote("findings", scan, "acme", 3, 30)
    wrote("findings", scan, "acme", 7, 70)  # the scan's object again, with more findings
    rows = {key: (w.objects, w.records, w.bytes) for key, w in summary.rows.items()}
    assert rows == {
        ("audit_logs", "acme"): (1, 10, 100),
        ("audit_logs", "acme.platform"): (1, 5, 50),
        ("findings", "acme"): (1, 7, 70),
    }
    table = summary.table()
    assert table[0].split() == ["stream", "namespace", "objects", "records", "bytes"]
    assert table[-1].split() == ["total", "3", "22", "220"]
    manifest = json.loads(summary.manifest({"bookmarks": {}}))
    assert manifest["keys"] == summary.keys and len(manifest["keys"]) == 3
    assert manifest["state"] == {"bookmarks": {}}


STATE_TEXT = '{"bookmarks":{"s":{"at":1727740800.25,"big":123456789012345678901234567890}}}'


def test_the_summary_and_manifest_carry_a_state_of_any_numbers_as_received(
    config: dict, s3_client: Any, bucket: str, tmp_path: Path
) -> None:
    # Found at merge time: the summary re-encoded the state with json.dumps, which
    # cannot write the reader's exact state and ended the run with a traceback.
    messages = "\n".join(
        [
            schema("s"),
            json.dumps({"type": "RECORD", "stream": "s", "record": {"uuid": "u1"}}),
            '{"type":"STATE","value":' + STATE_TEXT + "}",
        ]
    )
    run = run_cli_in_process({**config, "run_manifest": True}, messages + "\n", tmp=tmp_path)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip().splitlines()[-1] == STATE_TEXT
    assert f"State handed back: {STATE_TEXT}" in run.stderr
    assert "Traceback" not in run.stderr
    [manifest_key] = [key for key in all_objects(s3_client, bucket) if "/_manifests/" in key]
    body = s3_client.get_object(Bucket=bucket, Key=manifest_key)["Body"].read()
    assert json.loads(body)["state"] == json.loads(STATE_TEXT)
    assert b"1727740800.25" in body and b"123456789012345678901234567890" in body


def test_security_lake_parquet_objects_are_in_the_summary_and_in_manifests_the_role_may_write(
    config: dict[str, Any], s3_client: Any, bucket: str
) -> None:
    # Found in review (issue 20): the Parquet sink wrote past the run summary, so the
    # summary said 0 objects and the manifest listed none, under endor/.../_manifests/
    # where a Security Lake provider role (ext/<source>/ only) may not write.
    config = {
        **config,
        "layout": "security-lake",
        "security_lake_account_id": "123456789012",
        "run_manifest": True,
        "batch_max_records": 3,
    }
    messages = [schema("audit_logs"), schema("findings")]
    messages += [record("audit_logs", audit_log(n, "acme", 2 + n % 2)) for n in range(7)]
    messages += [record("findings", finding(n, "scan-1", last=n == 2)) for n in range(3)]
    target = run_in_process(config, lines(*messages, state({"done": True})))

    objects = all_objects(s3_client, bucket)
    parquet = sorted(key for key in objects if key.endswith(".parquet"))
    manifests = sorted(key for key in objects if "/_manifests/" in key)
    assert len(parquet) >= 4
    summary = target.run_summary
    assert sorted(summary.keys) == parquet
    assert sum(w.records for w in summary.rows.values()) == 10
    assert {namespace for _, namespace in summary.rows} == {
        "endorlabs-audit-logs",
        "endorlabs-detection-findings",
    }
    # Each manifest lies under its source's ext/<source>/, and lists that source's objects.
    listed = []
    for key in manifests:
        source_folder = "/".join(key.split("/")[:2]) + "/"
        assert key.startswith("ext/") and key.split("/")[2] == "_manifests"
        document = json.loads(objects[key])
        assert all(k.startswith(source_folder) for k in document["keys"])
        assert document["state"] == {"done": True}
        listed += document["keys"]
    assert sorted(listed) == parquet
    assert len(manifests) == 2
    assert not [key for key in objects if key.startswith("endor/")]


def test_every_object_written_is_reported_to_an_observer_with_its_counts(
    config: dict[str, Any], s3_client: Any, bucket: str, tmp_path: Path
) -> None:
    seen: list[ObjectWritten] = []
    messages = [schema("audit_logs"), schema("findings")]
    messages += [record("audit_logs", audit_log(n, "acme" if n % 2 else "beta")) for n in range(9)]
    messages += [record("findings", finding(n, "scan-1", last=n == 3)) for n in range(4)]
    run_in_process({**config, "batch_max_records": 4}, lines(*messages), seen.append)

    objects = all_objects(s3_client, bucket)
    assert sorted(w.key for w in seen) == sorted(objects)
    for written in seen:
        body = objects[written.key]
        held = records_in(written.key, body, tmp_path)
        assert written.bytes == len(body)
        assert written.records == len(held)
        times = sorted(r["meta"]["create_time"] for r in held)
        assert written.first_time is not None and written.last_time is not None
        assert written.first_time.strftime("%Y-%m-%dT%H:%M:%S") == times[0][:19]
        assert written.last_time.strftime("%Y-%m-%dT%H:%M:%S") == times[-1][:19]
        assert written.partition in {"acme", "beta"}
        assert written.stream in {"audit_logs", "findings"}
