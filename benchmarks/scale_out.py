"""How many namespaces one worker handles: `meltano run` per namespace against a slow API.

Not a test: starts the emulator with a fixed latency on every list call
(``--base-latency``, default 100 ms, a remote API's round trip) and child
namespaces of equal size, and the local S3 server, then times the README's
worker command (``orchestration/dagster_endor/worker.py``) with Meltano's S3
state backend:

1. one namespace's first run (from a start date 45 days back) and its
   incremental run after five minutes of new data;
2. k namespaces at once on this machine (k = 1, 2, 4 ...), incremental runs:
   the wall time shows where the machine's cores, not the API, become the limit;
3. for comparison, the whole tenant in one run (``include_child_namespaces``),
   incremental: one Meltano start for every namespace.

It prints the figures and how many namespaces one worker can keep up with on
a 12-hour schedule.  ``python -m benchmarks.scale_out [--latency 0.1] [--namespaces 4]``.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import time
import uuid
from pathlib import Path

import boto3

from benchmarks.paths import work_dir
from orchestration.dagster_endor.worker import meltano_run_args
from tests.conftest import S3_TEST_CREDENTIALS
from tests.support.emulator_client import TENANT, call_json
from tests.support.servers import ServerProcess, start_emulator, start_local_s3
from tests.test_orchestration.machines import MELTANO, Shared, make_project, start_worker

SCHEDULE_SECONDS = 12 * 3600


def requests_so_far(emulator: ServerProcess) -> int:
    """API requests the emulator has answered (token exchanges included)."""
    return int(call_json(emulator, "GET", "/_emulator/stats")["requests"])


def run_workers(shared: Shared, projects: list[Path], namespaces: list[str]) -> tuple[float, int]:
    """Run one worker per namespace at once; wall seconds and API requests they made."""
    before = requests_so_far(shared.emulator)
    started = time.monotonic()
    workers = [
        start_worker(project, namespace, shared.env(project), subprocess.PIPE)
        for project, namespace in zip(projects, namespaces, strict=True)
    ]
    for worker in workers:
        output, _ = worker.communicate(timeout=1800)
        if worker.returncode != 0:
            raise SystemExit(f"a worker failed (exit {worker.returncode}):\n{output[-3000:]}")
    return time.monotonic() - started, requests_so_far(shared.emulator) - before


def run_tenant(shared: Shared, project: Path) -> tuple[float, int]:
    """The whole tenant, children included, in one run; wall seconds and API requests."""
    env = {
        **shared.env(project),
        "TAP_ENDORLABS_NAMESPACE": TENANT,
        "TAP_ENDORLABS_INCLUDE_CHILD_NAMESPACES": "true",
    }
    before = requests_so_far(shared.emulator)
    started = time.monotonic()
    subprocess.run(
        [MELTANO, *meltano_run_args(TENANT)], cwd=project, env=env, check=True, capture_output=True
    )
    return time.monotonic() - started, requests_so_far(shared.emulator) - before


def main() -> None:
    """Start the servers, time the runs, print the figures."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.scale_out", description=__doc__)
    parser.add_argument("--latency", type=float, default=0.1, help="seconds per list call")
    parser.add_argument("--namespaces", type=int, default=4, help="child namespaces (max k)")
    options = parser.parse_args()
    for name, value in (
        ("AWS_ACCESS_KEY_ID", S3_TEST_CREDENTIALS["aws_access_key_id"]),
        ("AWS_SECRET_ACCESS_KEY", S3_TEST_CREDENTIALS["aws_secret_access_key"]),
        ("AWS_DEFAULT_REGION", S3_TEST_CREDENTIALS["region_name"]),
    ):
        os.environ.setdefault(name, value)
    children = [f"team{n}" for n in range(options.namespaces)]
    namespaces = [f"acme.{child}" for child in children]
    base = work_dir("scale-out", uuid.uuid4().hex[:8])
    emulator_args = ["--seed", "3", "--base-latency", str(options.latency)]
    emulator_args += ["--child-namespaces", ",".join(children)]
    with start_emulator(*emulator_args) as emulator, start_local_s3() as s3:
        client = boto3.client("s3", endpoint_url=s3.url, **S3_TEST_CREDENTIALS)
        shared = Shared(emulator, s3.url, "scale-out-export", "scale-out-state")
        client.create_bucket(Bucket=shared.export_bucket)
        client.create_bucket(Bucket=shared.state_bucket)
        projects = [make_project(base / f"worker-{n}") for n in range(len(namespaces))]
        print(f"emulator latency {options.latency * 1000:.0f} ms per list call; work in {base}")

        backfill, backfill_requests = run_workers(shared, projects[:1], namespaces[:1])
        print(f"first run, 1 namespace:        {backfill:6.1f} s  {backfill_requests} requests")
        rows = []
        k = 1
        while k <= len(namespaces):
            if k > 1:  # bring namespaces 1..k-1 up to date first, so every run is incremental
                run_workers(shared, projects[1:k], namespaces[1:k])
            call_json(emulator, "POST", "/_emulator/advance", {"seconds": 300, "audit_logs": 20})
            seconds, requests = run_workers(shared, projects[:k], namespaces[:k])
            rows.append((k, seconds, requests))
            k *= 2
        print("\nincremental runs (5 minutes of new data), k namespaces at once on this machine:")
        print(f"  {'k':>3}{'wall s':>9}{'s/namespace':>13}{'requests':>10}")
        for k, seconds, requests in rows:
            print(f"  {k:>3}{seconds:>9.1f}{seconds / k:>13.1f}{requests:>10}")
        tenant = make_project(base / "tenant")
        run_tenant(shared, tenant)
        call_json(emulator, "POST", "/_emulator/advance", {"seconds": 300, "audit_logs": 20})
        seconds, requests = run_tenant(shared, tenant)
        print(
            f"  whole tenant ({len(namespaces) + 1} namespaces) in one run: {seconds:.1f} s, "
            f"{requests} requests"
        )
        one = rows[0][1]
        print(
            f"\none worker, one namespace after another: {one:.1f} s per namespace, so about "
            f"{int(SCHEDULE_SECONDS / one)} namespaces per 12-hour schedule "
            f"({int(3600 / one)} per hour); cores: {os.cpu_count()}"
        )


if __name__ == "__main__":
    main()
