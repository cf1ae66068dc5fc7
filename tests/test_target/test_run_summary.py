"""The run summary counts each object once, by stream and namespace."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from target_s3_endor.run_summary import RunSummary
from tests.test_target.conftest import all_objects, run_target, schema

ROOT = "endor/uuid-exp"


def test_rows_per_stream_and_namespace_and_a_rewritten_scan_counts_once() -> None:
    summary = RunSummary(root=ROOT)
    summary.wrote("audit_logs", f"{ROOT}/acme/audit-logs/2025/01/01/a.zip", 10, 100)
    summary.wrote("audit_logs", f"{ROOT}/acme.platform/audit-logs/2025/01/01/b.zip", 5, 50)
    scan = f"{ROOT}/acme/p-app/schedule/main/20250101T000000Z_s1.zip"
    summary.wrote("findings", scan, 3, 30)
    summary.wrote("findings", scan, 7, 70)  # the scan's object again, with more findings
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
    run = run_target({**config, "run_manifest": True}, messages + "\n", tmp=tmp_path)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip().splitlines()[-1] == STATE_TEXT
    assert f"State handed back: {STATE_TEXT}" in run.stderr
    assert "Traceback" not in run.stderr
    [manifest_key] = [key for key in all_objects(s3_client, bucket) if "/_manifests/" in key]
    body = s3_client.get_object(Bucket=bucket, Key=manifest_key)["Body"].read()
    assert json.loads(body)["state"] == json.loads(STATE_TEXT)
    assert b"1727740800.25" in body and b"123456789012345678901234567890" in body
