"""``target-s3-endor --verify`` on a bucket of many objects: time and peak memory (issue 19).

Not a test: prints one Markdown table.  A bucket in the local S3 is filled with
``--objects`` gzip JSON-lines objects (``--records`` each) and a proof listing
them (one window per 50 objects); ``--verify`` then runs as a child process,
twice: once with 1/4 of the objects and once with all of them, so the peak
memory can be compared across sizes (it should not grow with the bucket: the
ledger is on disk, objects are read a buffer at a time).

    .venv/bin/python -m benchmarks.verify --objects 4000 --records 200
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks.measure import run_child
from benchmarks.s3 import ACCESS_KEY, REGION, SECRET_KEY, client
from target_s3_endor.layouts.endor import exporter_root
from target_s3_endor.layouts.proof import proof_key
from target_s3_endor.settings.model import TargetSettings
from tests.support.servers import start_local_s3

WINDOW_OBJECTS = 50


def fill(s3: Any, bucket: str, root: str, objects: int, records: int) -> int:
    """Data objects and their proof; returns the records written."""
    body = gzip.compress(
        b"".join(
            json.dumps({"uuid": f"r{i}", "pad": "x" * 900}).encode() + b"\n" for i in range(records)
        ),
        compresslevel=1,
    )
    keys = [f"{root}/acme/audit-logs/2025/01/02/object-{n:07d}.jsonl.gz" for n in range(objects)]
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda key: s3.put_object(Bucket=bucket, Key=key, Body=body), keys))
    lines = []
    for start in range(0, objects, WINDOW_OBJECTS):
        part = keys[start : start + WINDOW_OBJECTS]
        lines.append(
            json.dumps(
                {
                    "uuid": f"window-{start}",
                    "stream": "audit_logs",
                    "namespace": "acme",
                    "window_start": "2025-01-02T00:00:00Z",
                    "check": "exact",
                    "api_count": len(part) * records,
                    "emitted_count": len(part) * records,
                    "objects": [
                        {"key": k, "records": records, "object_records": records} for k in part
                    ],
                }
            )
        )
    key = proof_key(root, datetime.now(UTC), "bench-000001")
    s3.put_object(Bucket=bucket, Key=key, Body="\n".join(lines).encode())
    return objects * records


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, default=4000)
    parser.add_argument("--records", type=int, default=200)
    args = parser.parse_args()
    rows = []
    with start_local_s3() as server, tempfile.TemporaryDirectory() as work:
        s3 = client(server.url)
        for objects in (args.objects // 4, args.objects):
            bucket = f"verify-bench-{objects}"
            s3.create_bucket(Bucket=bucket)
            config = {
                "bucket": bucket,
                "endpoint_url": server.url,
                "region": REGION,
                "aws_access_key_id": ACCESS_KEY,
                "aws_secret_access_key": SECRET_KEY,
            }
            records = fill(
                s3, bucket, exporter_root(TargetSettings.from_config(config)), objects, args.records
            )
            config_path = Path(work) / f"{bucket}.json"
            config_path.write_text(json.dumps(config))
            run = run_child(
                f"verify-{objects}",
                [
                    str(Path(sys.executable).parent / "target-s3-endor"),
                    "--config",
                    str(config_path),
                    "--verify",
                ],
                stdin_path=None,
                stdout_path=None,
                log_path=Path(work) / f"{bucket}.log",
            )
            if run.returncode != 0:
                sys.exit(f"--verify failed on {bucket}:\n{run.log_tail()}")
            rows.append((objects, records, run.seconds, run.peak_rss_mb))
    print("| objects | records | seconds | objects/s | peak RSS (MiB) |")
    print("|---:|---:|---:|---:|---:|")
    for objects, records, seconds, peak in rows:
        print(
            f"| {objects:,} | {records:,} | {seconds:.1f} | {objects / seconds:,.0f} | {peak:.0f} |"
        )


if __name__ == "__main__":
    main()
