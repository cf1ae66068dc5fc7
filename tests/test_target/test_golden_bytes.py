"""The bytes of every format and container, pinned: a refactor that moves code changes none.

One fixed input (audit logs over two namespaces and days, a project, findings of a
finished scan, of a scan still open at the end, and one without a scan context) goes
through the target in-process for every ``format`` x ``compression`` and for
``layout: security-lake``; each object's SHA-256 is compared with the one recorded
before the target's re-architecture (issue 20).  Keys are compared with the run's
random id replaced, and zip objects with their member's DOS time and date zeroed: a
scan's object is dated by its arrival, and zip times are not this test's concern.

The digests are in ``tests/data_files/golden_bytes.json``.  When a format's bytes
change on purpose, print the new table with
``GOLDEN_PRINT=1 pytest tests/test_target/test_golden_bytes.py -s``, update the file and
say why in the commit.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import struct
from typing import Any

import pytest

from tests.test_target.conftest import (
    DATA_FILES,
    all_objects,
    audit_log,
    finding,
    lines,
    record,
    run_in_process,
    schema,
    state,
)

RUN_ID = re.compile(r"[0-9a-f]{16}-\d{6}")
ROOT = re.compile(r"^endor/[0-9a-f-]{36}-prod-exporter/")
GOLDEN: dict[str, dict[str, str]] = json.loads((DATA_FILES / "golden_bytes.json").read_text())


def fixed_input() -> str:
    """SCHEMA, RECORD and STATE messages covering every kind of object."""
    messages = [schema("audit_logs"), schema("findings"), schema("projects")]
    for n in range(12):
        messages.append(record("audit_logs", audit_log(n, "acme" if n % 3 else "beta", 2 + n % 2)))
        if n == 5:
            messages.append(state({"bookmarks": {"audit_logs": n}}))
    messages.append(
        record(
            "projects",
            {
                "uuid": "p-1",
                "meta": {"name": "repo", "create_time": "2025-01-02T00:00:00Z"},
                "tenant_meta": {"namespace": "acme"},
            },
        )
    )
    for n in range(4):
        messages.append(record("findings", finding(n, "scan-1", last=n == 3)))
    messages.append(state({"bookmarks": {"findings": "scan-1"}}))
    for n in range(3):
        messages.append(record("findings", finding(n, "scan-2")))
    loose = finding(9, "scan-3")
    del loose["scan_context"]
    messages.append(record("findings", loose))
    messages.append(state({"bookmarks": {"findings": "scan-2"}}))
    return lines(*messages)


def security_lake_input() -> str:
    messages = [schema("audit_logs"), schema("findings")]
    messages += [record("audit_logs", audit_log(n, "acme", 2 + n % 2)) for n in range(8)]
    messages += [record("findings", finding(n, "scan-1", last=n == 2)) for n in range(3)]
    messages.append(state({"done": True}))
    return lines(*messages)


def without_zip_times(body: bytes) -> bytes:
    """A one-member zip with the DOS time and date in both headers zeroed."""
    data = bytearray(body)
    data[10:14] = bytes(4)  # local file header: modification time, date
    (directory_at,) = struct.unpack("<I", data[-6:-2])  # end record: directory offset
    data[directory_at + 12 : directory_at + 16] = bytes(4)
    return bytes(data)


def digests(objects: dict[str, bytes]) -> dict[str, str]:
    """Key (root dropped, run id replaced) -> SHA-256 of the object's bytes."""
    table = {}
    for key, body in objects.items():
        data = without_zip_times(body) if key.endswith(".zip") else body
        table[ROOT.sub("", RUN_ID.sub("RUN", key))] = hashlib.sha256(data).hexdigest()
    return dict(sorted(table.items()))


FORMATS = ("json", "jsonl", "sarif", "ocsf")
CASES = [(fmt, comp) for fmt in FORMATS for comp in ("zip", "gzip", "none")]


@pytest.mark.parametrize(("fmt", "compression"), CASES)
def test_every_format_and_container_writes_the_pinned_bytes(
    config: dict[str, Any], s3_client: Any, bucket: str, fmt: str, compression: str
) -> None:
    config = {**config, "format": fmt, "compression": compression, "batch_max_records": 5}
    run_in_process(config, fixed_input())
    got = digests(all_objects(s3_client, bucket))
    if os.environ.get("GOLDEN_PRINT"):
        print(json.dumps({f"{fmt}/{compression}": got}, indent=1))
    assert got == GOLDEN[f"{fmt}/{compression}"]


def test_security_lake_parquet_writes_the_pinned_bytes(
    config: dict[str, Any], s3_client: Any, bucket: str
) -> None:
    config = {**config, "layout": "security-lake", "security_lake_account_id": "123456789012"}
    run_in_process(config, security_lake_input())
    got = digests(all_objects(s3_client, bucket))
    if os.environ.get("GOLDEN_PRINT"):
        print(json.dumps({"security-lake": got}, indent=1))
    assert got == GOLDEN["security-lake"]
