"""Object sizes of a sparse backfill (issue 22): ``python -m benchmarks.object_sizes``.

The case reported: 1,927 audit logs over 120 days, in two namespaces, wrote 231
objects with a median of 645 bytes. Endor Labs' layout has a folder per
namespace and day, so a backfill cannot make fewer objects than the days it
touches; what a query engine prefers (few objects of megabytes) is a compacted
copy beside the export. This prints, for the same generated backfill:

* the target's objects at the default settings (``json`` in ``zip``) and with
  ``jsonl`` in ``gzip``: how many, their median and total bytes;
* the objects of a compacted copy, one zstd Parquet object per namespace and
  month, made from the exported objects (the README's "Object sizes": a CTAS or
  DuckDB ``COPY`` does the same in a real bucket).

Not a test: figures to read. Under a minute on 2 cores.
"""

from __future__ import annotations

import io
import json
import random
import statistics
import sys
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from benchmarks.measure import run_target_into
from benchmarks.paths import work_dir
from benchmarks.s3 import client, fresh_bucket

RECORDS = 1_927
DAYS = 120
NAMESPACES = ("acme", "acme.platform")
BIN = Path(sys.executable).parent


def _backfill(path: Path) -> Path:
    """``RECORDS`` audit logs at random times over ``DAYS`` days, in time order."""
    rng = random.Random(22)
    start = datetime(2026, 6, 1, tzinfo=UTC)
    times = sorted(start + timedelta(seconds=rng.uniform(0, DAYS * 86_400)) for _ in range(RECORDS))
    schema = {"type": "object", "properties": {"uuid": {"type": "string"}}}
    lines: list[dict[str, Any]] = [
        {"type": "SCHEMA", "stream": "audit_logs", "schema": schema, "key_properties": ["uuid"]}
    ]
    for number, moment in enumerate(times):
        record = {
            "uuid": f"{number:024x}",
            "meta": {"create_time": moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ"), "kind": "AuditLog"},
            "tenant_meta": {"namespace": rng.choice(NAMESPACES)},
            "spec": {
                "operation": "OPERATION_UPDATE",
                "message_kind": "internal.endor.ai.endor.v1.Policy",
                "message_uuid": f"{rng.getrandbits(96):024x}",
                "claims": ["user=jane@example.com@x509", "tenant=acme"],
                "remote_address": f"10.0.{rng.randrange(256)}.{rng.randrange(256)}",
            },
        }
        lines.append({"type": "RECORD", "stream": "audit_logs", "record": record})
    lines.append({"type": "STATE", "value": {"records": RECORDS}})
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return path


def _objects(s3: Any, bucket: str) -> dict[str, bytes]:
    out = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for item in page.get("Contents", []):
            out[item["Key"]] = s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
    return out


def _export(endpoint: str, s3: Any, data: Path, label: str, settings: dict[str, Any]) -> dict:
    """The data objects (proofs and manifests left out) the target writes over ``data``."""
    bucket = fresh_bucket(s3, f"sizes-{label}")
    run_target_into(
        endpoint, bucket, data, work=work_dir("object_sizes"), label=label, settings=settings
    )
    return {key: body for key, body in _objects(s3, bucket).items() if "/_" not in key}


def _compacted(exported: dict[str, bytes]) -> list[int]:
    """Sizes of one zstd Parquet object per namespace and month, from the exported objects."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from tests.s3_listing import decode_object

    months: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for key, body in exported.items():
        for record in decode_object(key, body):
            month = record["meta"]["create_time"][:7]
            months[record["tenant_meta"]["namespace"], month].append(record)
    sizes = []
    for records in months.values():
        table = pa.Table.from_pylist([{"record": json.dumps(r)} for r in records])
        sink = io.BytesIO()
        pq.write_table(table, sink, compression="zstd")
        sizes.append(len(sink.getvalue()))
    return sizes


def _row(label: str, sizes: list[int]) -> str:
    median = statistics.median(sizes)
    return f"| {label} | {len(sizes)} | {median:,.0f} B | {sum(sizes):,} B |"


def main() -> int:
    from tests.support.servers import start_local_s3

    data = _backfill(work_dir("object_sizes") / "backfill.singer")
    print(
        f"## Object sizes: {RECORDS:,} audit logs over {DAYS} days, {len(NAMESPACES)} namespaces\n"
    )
    print("| objects | count | median | total |")
    print("|---|---|---|---|")
    with start_local_s3() as local_s3:
        s3 = client(local_s3.url)
        default = _export(local_s3.url, s3, data, "default", {})
        print(_row("target, default (`json` in `zip`)", [len(b) for b in default.values()]))
        jsonl = _export(local_s3.url, s3, data, "jsonl", {"format": "jsonl", "compression": "gzip"})
        print(_row("target, `jsonl` in `gzip`", [len(b) for b in jsonl.values()]))
        print(_row("compacted copy: zstd Parquet per namespace and month", _compacted(default)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
