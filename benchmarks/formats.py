"""OCSF and Parquet throughput next to JSON: ``python -m benchmarks.formats [--records N]``.

Not part of ``benchmarks.run`` (issue 15): runs ``target-s3-endor`` on the same
audit-log file four ways (json in zip, jsonl in gzip, ocsf in gzip, and the
security-lake layout's zstd Parquet) against a fresh local S3, reads every
output back to count it, and prints one Markdown table.  Default 20,000 records:
a quick comparison, not a long run.
"""

from __future__ import annotations

import argparse
import io
import sys
from typing import Any

from benchmarks import contenders as c
from benchmarks import datasets
from benchmarks.measure import run_child
from benchmarks.s3 import client, count_output, empty_bucket, fresh_bucket

VARIANTS: dict[str, dict[str, Any]] = {
    "json, zip": {"format": "json", "compression": "zip"},
    "jsonl, gzip": {"format": "jsonl", "compression": "gzip"},
    "ocsf, gzip": {"format": "ocsf", "compression": "gzip"},
    "security-lake (OCSF Parquet, zstd)": {
        "layout": "security-lake",
        "security_lake_account_id": "123456789012",
    },
}


def parquet_rows(s3: Any, bucket: str) -> int:
    """Rows in every Parquet object of the bucket."""
    import pyarrow.parquet as pq

    rows = 0
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for item in page.get("Contents", []):
            body = s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
            rows += pq.ParquetFile(io.BytesIO(body)).metadata.num_rows
    return rows


def bench(s3_url: str, count: int) -> list[str]:
    """One table row per variant: records/s, seconds, peak RSS, records read back."""
    data = datasets.audit_log_file(count)
    s3 = client(s3_url)
    rows = []
    for label, settings in VARIANTS.items():
        bucket = fresh_bucket(s3, "bench-formats")
        config = c.target_config(s3_url, bucket, "json", **settings)
        path = c.write_config(f"formats-{len(rows)}", config)
        run = run_child(
            label,
            [str(c.TARGET), "--config", str(path)],
            stdin_path=data,
            stdout_path=None,
            log_path=c.log_path(f"formats-{count}-{len(rows)}"),
            env=c.child_env(),
        )
        if "layout" in settings:
            written = parquet_rows(s3, bucket)
        else:
            written = count_output(s3, bucket).records
        empty_bucket(s3, bucket)
        ok = run.returncode == 0 and written == count
        rate = f"{count / run.seconds:,.0f}" if ok and run.seconds else "failed"
        rows.append(
            f"| {label} | {count:,} | {rate} | {run.seconds:.2f} | "
            f"{run.peak_rss_mb:.0f} | {written:,} |"
        )
    return rows


def main(argv: list[str] | None = None) -> int:
    """Start a local S3, run the variants, print the table."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.formats", description=__doc__)
    parser.add_argument("--records", type=int, default=20_000)
    options = parser.parse_args(argv)
    from tests.support.servers import start_local_s3

    with start_local_s3() as local_s3:
        rows = bench(local_s3.url, options.records)
    print("| target-s3-endor | records | records/s | seconds | peak RSS MB | read back |")
    print("|---|---:|---:|---:|---:|---:|")
    print("\n".join(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
