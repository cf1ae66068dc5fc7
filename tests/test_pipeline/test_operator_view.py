"""The operator's view of a backfill: progress lines while it runs, a summary when it ends.

A real ``tap | target`` pipe over an emulator whose list calls take a little
time, with a progress interval short enough for several lines: the tap logs
progress per stream and namespace, and the target's summary table, its
manifest and the state it handed back agree with the bucket.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from target_s3_endor.layouts.endor import exporter_root
from target_s3_endor.settings.model import TargetSettings
from tests.s3_listing import list_objects
from tests.support.servers import ServerProcess, start_emulator
from tests.test_pipeline.conftest import tap_config, target_config
from tests.test_tap.tap_runner import NAMESPACES

BIN = Path(sys.executable).parent
PROGRESS = re.compile(
    r"Progress (\w+) \[([\w.]+)\]: ([\d,]+) records, at \S+Z, [\d.]+% of \S+\.\.\S+, "
    r"[\d,]+ records/s"
)
ROW = re.compile(r"\|\s+(\w+)\s+([\w.]+)\s+(\d+)\s+(\d+)\s+(\d+)$")
TOTAL = re.compile(r"\|\s+total\s+(\d+)\s+(\d+)\s+(\d+)$")


def run_backfill(workdir: Path, server: ServerProcess, endpoint: str, bucket: str) -> str:
    """Run the pipe; return both plugins' stderr, tap first."""
    tap = {**tap_config(server), "progress_interval_seconds": 0.1}
    target = {**target_config(endpoint, bucket), "run_manifest": True}
    (workdir / "tap.json").write_text(json.dumps(tap))
    (workdir / "target.json").write_text(json.dumps(target))
    command = (
        f"{BIN}/tap-endorlabs --config tap.json 2> tap.err "
        f"| {BIN}/target-s3-endor --config target.json > state.json 2> target.err"
    )
    result = subprocess.run(
        ["bash", "-o", "pipefail", "-c", command],
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    logs = (workdir / "tap.err").read_text() + (workdir / "target.err").read_text()
    assert result.returncode == 0, logs[-3000:]
    return logs


def test_a_backfill_logs_progress_and_ends_with_a_summary_that_matches_the_bucket(
    tmp_path: Path, s3_endpoint: str, s3_client: Any, bucket: str
) -> None:
    # 10 ms a list call: the audit-log backfill of one namespace takes about a second, several
    # 0.1 s intervals.
    with start_emulator("--seed", "4", "--base-latency", "0.01") as server:
        logs = run_backfill(tmp_path, server, s3_endpoint, bucket)

    progress = [match.groups() for match in PROGRESS.finditer(logs)]
    assert len(progress) >= 2, logs[-3000:]
    assert {stream for stream, *_ in progress} >= {"audit_logs"}
    assert "Reading audit_logs in namespace acme.platform from" in logs

    summary = logs.split("Run summary", 1)[1]
    lines = summary.splitlines()
    rows = {(m[1], m[2]): (int(m[3]), int(m[4])) for m in map(ROW.search, lines) if m}
    total = next(m for m in map(TOTAL.search, lines) if m)
    root = exporter_root(TargetSettings.from_config(target_config(s3_endpoint, bucket)))
    stored = [
        item
        for namespace in NAMESPACES
        for item in list_objects(s3_client, bucket, f"{root}/{namespace}/")
    ]
    per_namespace_audit = Counter(s.key.split("/")[2] for s in stored if "/audit-logs/" in s.key)
    for namespace, objects in per_namespace_audit.items():
        assert rows[("audit_logs", namespace)][0] == objects
    assert (int(total[1]), int(total[2])) == (len(stored), sum(len(s.records) for s in stored))

    state = json.loads((tmp_path / "state.json").read_text().splitlines()[-1])
    assert f"State handed back: {json.dumps(state, separators=(',', ':'))}" in logs

    listed = s3_client.list_objects_v2(Bucket=bucket)["Contents"]
    manifests = [entry["Key"] for entry in listed if "/_manifests/" in entry["Key"]]
    assert len(manifests) == 1
    manifest = json.loads(s3_client.get_object(Bucket=bucket, Key=manifests[0])["Body"].read())
    assert sorted(manifest["keys"]) == sorted(s.key for s in stored)
    assert manifest["state"] == state
