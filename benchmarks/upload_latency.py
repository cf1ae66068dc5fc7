"""Upload latency and start-up (issue 23): ``python -m benchmarks.upload_latency``.

Prints, in one run:

* the target's wall time writing ~200 day objects (one audit log a day)
  through the S3 fault proxy (``tests/s3_fault_proxy.py``) in front of moto,
  without latency and with every PUT answered 60 ms late, at
  ``max_concurrent_uploads`` 1 (one upload after another, as before issue 23)
  and at the default 8; the goal is at most 2x with the latency;
* each plugin's start-up: the wall of ``--about`` and of importing its plugin
  module (median of several runs), and the share of that import spent in
  singer-sdk (``python -X importtime``).

Not a test: figures to read.  About a minute on 2 cores.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from benchmarks.measure import run_target_into
from benchmarks.paths import work_dir
from benchmarks.s3 import client, count_output, fresh_bucket

OBJECTS = 200
PUT_LATENCY = 0.06
STARTS = 5
BIN = Path(sys.executable).parent
PLUGINS = {
    "tap-endorlabs": "tap_endorlabs.tap",
    "target-s3-endor": "target_s3_endor.target",
}


def _day_objects(path: Path) -> Path:
    """One audit log per day for ``OBJECTS`` days: one object each, in one drain."""
    start = datetime(2024, 1, 1, 3, 4, 5, tzinfo=UTC)
    schema = {"type": "object", "properties": {"uuid": {"type": "string"}}}
    lines = [{"type": "SCHEMA", "stream": "audit_logs", "schema": schema, "key_properties": []}]
    for day in range(OBJECTS):
        moment = (start + timedelta(days=day)).strftime("%Y-%m-%dT%H:%M:%S.000000Z")
        record = {
            "uuid": f"audit-{day:05d}",
            "meta": {"create_time": moment, "kind": "AuditLog"},
            "tenant_meta": {"namespace": "acme"},
            "spec": {"operation": "OPERATION_CREATE"},
        }
        lines.append({"type": "RECORD", "stream": "audit_logs", "record": record})
    lines.append({"type": "STATE", "value": {"days": OBJECTS}})
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return path


def _target_wall(
    proxy_url: str, s3: Any, data: Path, label: str, concurrent: int
) -> tuple[float, int]:
    """Seconds the target takes over ``data``, and the objects it wrote."""
    bucket = fresh_bucket(s3, f"latency-{label}-{concurrent}")
    settings = {"max_concurrent_uploads": concurrent, "batch_max_records": 100_000}
    work = work_dir("upload_latency")
    run = run_target_into(
        proxy_url, bucket, data, work=work, label=f"{label}-{concurrent}", settings=settings
    )
    return run.seconds, count_output(s3, bucket).objects


def _median_wall(command: list[str]) -> float:
    walls = []
    for _ in range(STARTS):
        started = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        walls.append(time.perf_counter() - started)
    return statistics.median(walls)


def _sdk_share(module: str) -> float:
    """Of the import of ``module``, the share (0-1) spent importing singer_sdk and below it."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", f"import {module}"],
        check=True,
        capture_output=True,
        text=True,
    )
    total = sdk = 0
    for line in done.stderr.splitlines():
        if not line.startswith("import time:") or "|" not in line or "self" in line:
            continue
        _, cumulative, name = (part.strip() for part in line[len("import time:") :].split("|"))
        if name == module:
            total = int(cumulative)
        elif name == "singer_sdk":
            sdk = int(cumulative)
    return sdk / total if total else 0.0


def main() -> int:
    from tests.support.emulator_client import call_json
    from tests.support.servers import start_local_s3, start_s3_fault_proxy

    data = _day_objects(work_dir("upload_latency") / "day-objects.singer")
    print(f"## Upload latency: {OBJECTS} day objects, one drain\n")
    print("| max_concurrent_uploads | no latency | 60 ms per PUT | ratio |")
    print("|---|---|---|---|")
    with start_local_s3() as local_s3, start_s3_fault_proxy(local_s3.url) as proxy:
        s3 = client(local_s3.url)
        for concurrent in (1, 8):
            call_json(proxy, "DELETE", "/_proxy/faults")
            fast, fast_objects = _target_wall(proxy.url, s3, data, "fast", concurrent)
            slow_rule = {"type": "slow", "rate": 1.0, "method": "PUT"}
            body = {"faults": [slow_rule], "slow_delay": PUT_LATENCY}
            call_json(proxy, "POST", "/_proxy/faults", body)
            slow, slow_objects = _target_wall(proxy.url, s3, data, "slow", concurrent)
            assert fast_objects == slow_objects == OBJECTS, (fast_objects, slow_objects)
            print(f"| {concurrent} | {fast:.2f} s | {slow:.2f} s | {slow / fast:.2f}x |")
    print("\n## Start-up, median of", STARTS, "\n")
    print("| plugin | `--about` | import of the plugin module | of it, singer-sdk |")
    print("|---|---|---|---|")
    for plugin, module in PLUGINS.items():
        about = _median_wall([str(BIN / plugin), "--about"])
        imported = _median_wall([sys.executable, "-c", f"import {module}"])
        share = _sdk_share(module)
        print(f"| {plugin} | {about:.2f} s | {imported:.2f} s | {share:.0%} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
