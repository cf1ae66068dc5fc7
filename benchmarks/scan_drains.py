"""A big scan under many drains (issue 20): ``python -m benchmarks.scan_drains``.

One scan of 30,000 findings goes through ``target-s3-endor`` twice into a
versioned bucket: with the default batch size (10,000 records) and with
``batch_max_records: 1000`` (30 drains while the scan is open).  Before issue 20
every drain re-encoded and re-uploaded every open scan, so the cost grew with
the square of the scan; now a scan is written once, at its ``last`` finding.
Prints the child's CPU seconds (user + system) of each run, their ratio (goal:
at most 1.3x), and the most versions any key got (goal: 1).  Not a test: a
figure to read.  About a minute on 2 cores.
"""

from __future__ import annotations

import resource
import sys
from collections import Counter
from typing import Any

from benchmarks import contenders as c
from benchmarks import datasets
from benchmarks.measure import run_child
from benchmarks.s3 import client, fresh_bucket

FINDINGS = 30_000
SMALL_BATCH = 1_000


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _most_versions(s3: Any, bucket: str) -> int:
    counts: Counter[str] = Counter()
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket):
        for version in page.get("Versions", []):
            counts[version["Key"]] += 1
    return max(counts.values(), default=0)


def main() -> int:
    from tests.support.servers import start_local_s3

    data = datasets.scan_findings_file(FINDINGS)
    results: dict[str, tuple[float, float, int]] = {}
    with start_local_s3() as local_s3:
        s3 = client(local_s3.url)
        for label, extra in (
            ("default batch", {}),
            (f"batch_max_records {SMALL_BATCH}", {"batch_max_records": SMALL_BATCH}),
        ):
            bucket = fresh_bucket(s3, f"bench-scan-drains-{len(results)}")
            s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
            cfg = c.write_config(
                f"scan-drains-{len(results)}",
                c.target_config(local_s3.url, bucket, "json", **extra),
            )
            before = _children_cpu()
            run = run_child(
                label,
                [str(c.TARGET), "--config", str(cfg)],
                stdin_path=data,
                stdout_path=None,
                log_path=c.log_path(f"scan-drains-{len(results)}"),
                env=c.child_env(),
            )
            if run.returncode != 0:
                print(f"{label}: FAILED\n{run.log_tail()}", file=sys.stderr)
                return 1
            results[label] = (_children_cpu() - before, run.seconds, _most_versions(s3, bucket))
    print(f"One scan of {FINDINGS:,} findings, format json, zip, versioned bucket:")
    print("| run | CPU s | wall s | most versions of a key |")
    print("|---|---:|---:|---:|")
    for label, (cpu, wall, versions) in results.items():
        print(f"| {label} | {cpu:.2f} | {wall:.2f} | {versions} |")
    (base, _, _), (small, _, _) = results.values()
    ratio = small / base
    print(
        f"\nCPU ratio (batch {SMALL_BATCH} / default): {ratio:.2f}x; goal <=1.3x: "
        f"{'met' if ratio <= 1.3 else 'NOT met'}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
