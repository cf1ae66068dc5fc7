"""The run summary counts each object once, by stream and namespace."""

from __future__ import annotations

import json

from target_s3_endor.run_summary import RunSummary

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
