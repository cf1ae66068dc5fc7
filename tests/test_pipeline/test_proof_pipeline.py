"""Issue 19 end to end: the real tap piped into the real target leaves the proof in the
bucket, and ``--verify`` checks the bucket against it.

Both plugins run their own command lines in this process (tests/support/in_process_cli.py),
the tap's whole output fed to the target, the target's last state kept as the README's
export.sh keeps it: the proof and the check are the plugins', and a process pipe proves
nothing more here (test_plain_pipe.py runs export.sh itself, as processes).

Two incremental runs: ``--verify`` passes; one data object deleted: it exits 1 naming
the object; a run from scratch (at-least-once: every window exported and proven again)
heals the gap (its windows, cut where that run cut them, cover the lost object's window),
and a window proven twice counts once.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from tap_endorlabs.tap import TapEndorLabs
from target_s3_endor.target import TargetS3Endor
from tests.support.emulator_client import call_json
from tests.support.in_process_cli import run_cli_in_process
from tests.support.servers import ServerProcess
from tests.test_pipeline.conftest import tap_config, target_config


def verify(workdir: Path) -> subprocess.CompletedProcess[str]:
    """``target-s3-endor --verify`` in this process (tests/support/in_process_cli.py)."""
    done = run_cli_in_process(TargetS3Endor, ["--config", str(workdir / "target.json"), "--verify"])
    return subprocess.CompletedProcess(
        done.args, done.returncode, done.stdout.decode(), done.stderr.decode()
    )


def run_pipe(workdir: Path) -> None:
    """One run of the README's export.sh, its two plugins in this process: the tap from
    state.json if there is one, state.json moved to the last state the target printed."""
    state = workdir / "state.json"
    tap_args = ["--config", str(workdir / "tap.json")]
    tapped = run_cli_in_process(
        TapEndorLabs, tap_args + (["--state", str(state)] if state.exists() else [])
    )
    assert tapped.returncode == 0, tapped.stderr.decode()[-3000:]
    target_args = ["--config", str(workdir / "target.json")]
    loaded = run_cli_in_process(TargetS3Endor, target_args, stdin=tapped.stdout)
    assert loaded.returncode == 0, loaded.stderr.decode()[-3000:]
    states = loaded.stdout.decode().splitlines()
    assert states, "the target printed no state"
    state.write_text(states[-1] + "\n")


def proofs(s3_client: Any, bucket: str) -> list[dict[str, Any]]:
    found = []
    for page in s3_client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for entry in page.get("Contents", []):
            if "/_reconciliation/" in entry["Key"]:
                body = s3_client.get_object(Bucket=bucket, Key=entry["Key"])["Body"].read()
                found += [json.loads(line) for line in body.splitlines()]
    return found


def total_line(stdout: str) -> list[str]:
    [line] = [line for line in stdout.splitlines() if line.startswith("total")]
    return line.split()


def test_the_pipeline_proves_its_export_and_verify_finds_a_deleted_object(
    tmp_path: Path, pipeline_emulator: ServerProcess, s3_endpoint: str, s3_client: Any, bucket: str
) -> None:
    (tmp_path / "tap.json").write_text(json.dumps(tap_config(pipeline_emulator)))
    (tmp_path / "target.json").write_text(json.dumps(target_config(s3_endpoint, bucket)))
    run_pipe(tmp_path)  # as the README's export.sh: state.json is the state it reached
    call_json(pipeline_emulator, "POST", "/_emulator/advance", {"seconds": 120, "audit_logs": 7})
    run_pipe(tmp_path)  # from state.json

    windows = proofs(s3_client, bucket)
    assert windows and all(w["written_count"] == w["emitted_count"] for w in windows)
    passed = verify(tmp_path)
    assert passed.returncode == 0, passed.stdout + passed.stderr[-2000:]
    _, distinct, expected, found, missing = total_line(passed.stdout)
    assert int(distinct) == len({w["uuid"] for w in windows})
    assert expected == found and missing == "0"

    audit_keys = sorted(
        entry["key"]
        for window in windows
        if window["stream"] == "audit_logs"
        for entry in window["objects"]
    )
    gone = audit_keys[len(audit_keys) // 2]
    s3_client.delete_object(Bucket=bucket, Key=gone)
    failed = verify(tmp_path)
    assert failed.returncode == 1
    assert f"MISSING  {gone}" in failed.stdout
    assert "verify: GAP:" in failed.stdout

    # A run from scratch exports (and proves) every window again: the gap is healed, and
    # each window still counts once.
    (tmp_path / "state.json").unlink()
    run_pipe(tmp_path)
    healed = verify(tmp_path)
    assert healed.returncode == 0, healed.stdout + healed.stderr[-2000:]
    all_windows = proofs(s3_client, bucket)
    assert len(all_windows) > len({w["uuid"] for w in all_windows})  # proven twice...
    assert total_line(healed.stdout)[1] == str(len({w["uuid"] for w in all_windows}))  # ...once
