"""What is exported is what the API said plus documented context: no tap-to-target signal.

``scan_context.last`` (the tap's "this scan is complete") drives the target and is in
no object of any format; the rest of ``scan_context`` is documented context and stays.
"""

from __future__ import annotations

import io
import json
from typing import Any

import pyarrow.parquet as pq
import pytest

from target_s3_endor.input.signals import SIGNAL_FIELDS, exported_record
from tests.test_target.conftest import (
    all_objects,
    finding,
    lines,
    record,
    run_in_process,
    schema,
    state,
)


def findings_input() -> str:
    messages = [schema("findings")]
    messages += [record("findings", finding(n, "scan-1", last=n == 2)) for n in range(3)]
    messages += [record("findings", finding(n, "scan-2")) for n in range(2)]  # stays open
    loose = finding(9, "scan-3", last=True)
    del loose["scan_context"]["scan_uuid"]  # no usable context: the fallback folder
    messages.append(record("findings", loose))
    messages.append(state({"done": True}))
    return lines(*messages)


def contexts(value: Any) -> list[dict[str, Any]]:
    """Every ``scan_context`` object anywhere in a decoded document."""
    found = []
    if isinstance(value, dict):
        if isinstance(value.get("scan_context"), dict):
            found.append(value["scan_context"])
        for item in value.values():
            found += contexts(item)
    elif isinstance(value, list):
        for item in value:
            found += contexts(item)
    return found


def documents(key: str, body: bytes) -> list[Any]:
    if key.endswith(".parquet"):
        rows = pq.read_table(io.BytesIO(body)).to_pylist()
        return [*rows, *(json.loads(row["raw_data"]) for row in rows if row.get("raw_data"))]
    text = body.decode()
    if key.endswith(".jsonl"):
        return [json.loads(line) for line in text.splitlines() if line]
    return [json.loads(text)]


@pytest.mark.parametrize("fmt", ["json", "jsonl", "sarif", "ocsf", "security-lake"])
def test_no_format_exports_a_signal_field(
    config: dict[str, Any], s3_client: Any, bucket: str, fmt: str
) -> None:
    if fmt == "security-lake":
        config = {**config, "layout": "security-lake", "security_lake_account_id": "123456789012"}
    else:
        config = {**config, "format": fmt, "compression": "none"}
    run_in_process(config, findings_input())
    objects = all_objects(s3_client, bucket)
    assert objects
    seen = []
    for key, body in objects.items():
        for document in documents(key, body):
            seen += contexts(document)
        assert b'"last"' not in body, key
    if fmt != "sarif":  # SARIF results carry no scan_context at all
        assert seen and all("last" not in context for context in seen)
        assert all(context.get("project_uuid") == "proj-1" for context in seen)


def test_exported_record_leaves_the_callers_record_alone() -> None:
    original = finding(1, last=True)
    exported, last = exported_record(original)
    assert last is True and original["scan_context"]["last"] is True
    assert exported["scan_context"] == {
        k: v for k, v in original["scan_context"].items() if k != "last"
    }
    for obj, field in SIGNAL_FIELDS:
        assert field not in exported[obj]
    plain = {"uuid": "x"}
    assert exported_record(plain) == (plain, False)
