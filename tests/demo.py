"""`make demo`: the main job on its embedded default, end to end.

Starts the Endor Labs emulator and the local S3 server, runs
``meltano --environment=demo run tap-endorlabs target-s3-endor``, prints the
objects written, lets new audit logs and scans arrive, runs the job again to
show that only new data is exported, checks the bucket against the proof the
pipeline wrote (``target-s3-endor --verify``), deletes one data object to show
the check naming it, and stops both servers.  Meltano's state
for the demo lives in ``.demo/`` and is wiped at the start, so the demo can be
run any number of times in a row.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3

from tests.s3_listing import StoredObject, list_objects
from tests.support.emulator_client import call_json
from tests.support.servers import REPO_ROOT, start_emulator, start_local_s3

DEMO_DIR = REPO_ROOT / ".demo"
BUCKET = "endor-demo"
MELTANO = str(Path(sys.executable).parent / "meltano")
S3_CREDENTIALS = {
    "aws_access_key_id": "demo-access-key",
    "aws_secret_access_key": "demo-secret-key",
    "region_name": "us-east-1",
}


def run_meltano(args: list[str], env: dict[str, str], log_name: str, *, expect: int = 0) -> float:
    """Run one meltano command, its output to a log file; stop the demo if its exit
    status is not ``expect``."""
    log_path = DEMO_DIR / log_name
    started = time.monotonic()
    with log_path.open("w") as log:
        result = subprocess.run(
            [MELTANO, *args],
            check=False,
            cwd=REPO_ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    if result.returncode != expect:
        print(log_path.read_text()[-4000:])
        sys.exit(
            f"demo: `meltano {' '.join(args)}` failed (exit {result.returncode}); log: {log_path}"
        )
    return time.monotonic() - started


def kind_of_key(key: str) -> str:
    """What an object holds, read from its key: findings, or the stream's folder (audit-logs)."""
    segments = key.split("/")
    if len(segments) > 4 and segments[4] in {"schedule", "pr"}:
        return "findings"
    return segments[3]


def print_objects(objects: list[StoredObject], title: str) -> None:
    """Every object (key, records, bytes), then a one-screen summary per kind."""
    print(f"\n{title}: {len(objects)} objects")
    for stored in objects:
        print(f"  {stored.key}  records={len(stored.records)}  bytes={stored.size}")
    totals: dict[str, list[int]] = {}
    for stored in objects:
        row = totals.setdefault(kind_of_key(stored.key), [0, 0, 0])
        row[0] += 1
        row[1] += len(stored.records)
        row[2] += stored.size
    print(f"\n  {'kind':<20}{'objects':>8}{'records':>9}{'bytes':>10}")
    for kind, (count, records, size) in sorted(totals.items()):
        print(f"  {kind:<20}{count:>8}{records:>9}{size:>10}")


def advance_emulator(api_url: str) -> dict[str, int]:
    """Let time pass on the emulator and new audit logs, sign-ins and scans arrive."""
    body = {"seconds": 600, "audit_logs": 25, "authentication_logs": 10, "scans": 2}
    call_json(api_url, "POST", "/_emulator/advance", body)
    return body


VERIFY = ["--environment=demo", "invoke", "target-s3-endor", "--verify"]


MELTANO_LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\dT\S+ \[")


def verify_report(log_name: str) -> list[str]:
    """The --verify table and gap lines from a meltano log, without log lines: the
    plugin's own (``... | INFO | ...``) and those Meltano writes in its format
    (``2026-12-06T22:57:47Z [info     ] meltano ...``), which carry no ``|``."""
    text = (DEMO_DIR / log_name).read_text().splitlines()
    return [
        line
        for line in text
        if line.strip() and "|" not in line and not MELTANO_LOG_LINE.match(line)
    ]


def verify_bucket(client: Any, env: dict[str, str]) -> None:
    """`target-s3-endor --verify` passes; with one data object deleted it fails, naming it."""
    keys = [stored.key for stored in list_objects(client, BUCKET, proofs=True)]
    proofs = [key for key in keys if "/_reconciliation/" in key]
    print(f"\nThe proof in the bucket: {len(proofs)} reconciliation objects")
    if not proofs and not tap_emits_reconciliations():
        print("  (this tap does not emit the reconciliations stream: nothing to verify)")
        return
    run_meltano(VERIFY, env, "verify.log")
    print("meltano --environment=demo invoke target-s3-endor --verify")
    print("  (days whose windows held no record are left out here)")
    for line in verify_report("verify.log"):
        cells = line.split()
        if len(cells) == 7 and cells[4] == "0" and cells[0] != "stream":
            continue  # a day whose windows held no record
        print(f"  {line}")
    data = [key for key in keys if "/_" not in key and "/audit-logs/" in key]
    gone = data[len(data) // 2]
    client.delete_object(Bucket=BUCKET, Key=gone)
    run_meltano(VERIFY, env, "verify-after-delete.log", expect=1)
    print(f"\nDeleted {gone}; --verify now exits 1:")
    for line in verify_report("verify-after-delete.log"):
        if line.startswith(("MISSING", "verify:")):
            print(f"  {line}")


def tap_emits_reconciliations() -> bool:
    """Whether the installed tap has the reconciliations stream (issue 19)."""
    try:
        import tap_endorlabs.reconciliations_stream  # noqa: F401
    except ImportError:
        return False
    return True


def main() -> None:
    """Run the demo; exit non-zero with one line if any step fails."""
    shutil.rmtree(DEMO_DIR, ignore_errors=True)
    (DEMO_DIR / "state").mkdir(parents=True)
    start_date = (datetime.now(UTC) - timedelta(days=90)).strftime("%Y-%m-%dT%H:%M:%SZ")
    with start_emulator("--seed", "1") as emulator, start_local_s3() as s3:
        client = boto3.client("s3", endpoint_url=s3.url, **S3_CREDENTIALS)
        client.create_bucket(Bucket=BUCKET)
        env = {
            **os.environ,
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
            "DEMO_ENDOR_API_URL": emulator.url,
            "DEMO_S3_ENDPOINT_URL": s3.url,
            "DEMO_START_DATE": start_date,
            "MELTANO_STATE_BACKEND_URI": (DEMO_DIR / "state").resolve().as_uri(),
            "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false",
        }
        print(f"Endor Labs emulator: {emulator.url}   local S3: {s3.url}   bucket: {BUCKET}")
        print("meltano install ...")
        run_meltano(["install"], env, "meltano-install.log")

        print(f"meltano --environment=demo run tap-endorlabs target-s3-endor (from {start_date})")
        seconds = run_meltano(
            ["--environment=demo", "run", "tap-endorlabs", "target-s3-endor"], env, "run-1.log"
        )
        first = list_objects(client, BUCKET)
        print_objects(first, f"First run ({seconds:.1f} s) wrote")

        added = advance_emulator(emulator.url)
        print(
            f"\nNew data arrives: {added['audit_logs']} audit logs, "
            f"{added['authentication_logs']} authentication logs, {added['scans']} scans."
        )
        seconds = run_meltano(
            ["--environment=demo", "run", "tap-endorlabs", "target-s3-endor"], env, "run-2.log"
        )
        first_keys = {stored.key for stored in first}
        new = [stored for stored in list_objects(client, BUCKET) if stored.key not in first_keys]
        print_objects(new, f"Second run ({seconds:.1f} s) resumed from state and added")
        verify_bucket(client, env)
    print(f"\nDone. Logs and state: {DEMO_DIR.relative_to(REPO_ROOT)}/")


if __name__ == "__main__":
    main()
