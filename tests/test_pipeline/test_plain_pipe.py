"""The plain Singer pipe the README documents, and the state it hands back.

``tap-endorlabs --config tap.json --state state.json | target-s3-endor --config
target.json > new-state.json``: the last line of the target's stdout is the
state to keep, and with it the next run exports only what is new.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.s3_listing import list_objects
from tests.support.emulator_client import call_json
from tests.support.servers import ServerProcess
from tests.test_pipeline.conftest import (
    exported_audit_uuids,
    tap_config,
    target_config,
)

BIN = Path(sys.executable).parent


def run_pipe(workdir: Path, state: Path | None, out: Path) -> None:
    """Run tap | target through a real shell pipe, as a user would."""
    state_arg = f"--state {state}" if state else ""
    command = (
        f"{BIN}/tap-endorlabs --config tap.json {state_arg} "
        f"| {BIN}/target-s3-endor --config target.json > {out}"
    )
    result = subprocess.run(
        ["bash", "-o", "pipefail", "-c", command],
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]


def audit_uuids(objects: list[Any]) -> list[str]:
    """Uuids of the audit-log records in a listing, duplicates kept."""
    return [
        record["uuid"]
        for stored in objects
        if "/audit-logs/" in stored.key
        for record in stored.records
    ]


def test_state_from_the_pipe_makes_the_next_run_incremental(
    tmp_path: Path, pipeline_emulator: ServerProcess, s3_endpoint: str, s3_client: Any, bucket: str
) -> None:
    (tmp_path / "tap.json").write_text(json.dumps(tap_config(pipeline_emulator)))
    (tmp_path / "target.json").write_text(json.dumps(target_config(s3_endpoint, bucket)))

    run_pipe(tmp_path, None, tmp_path / "state-1.json")
    lines = (tmp_path / "state-1.json").read_text().splitlines()
    assert lines, "the target printed no state"
    state = json.loads(lines[-1])
    assert "bookmarks" in state
    (tmp_path / "state.json").write_text(lines[-1])

    first = list_objects(s3_client, bucket)
    expected = exported_audit_uuids(pipeline_emulator)
    assert set(audit_uuids(first)) == expected

    call_json(pipeline_emulator, "POST", "/_emulator/advance", {"seconds": 120, "audit_logs": 7})
    run_pipe(tmp_path, tmp_path / "state.json", tmp_path / "state-2.json")

    first_keys = {stored.key for stored in first}
    added = [stored for stored in list_objects(s3_client, bucket) if stored.key not in first_keys]
    added_uuids = audit_uuids(added)
    new_logs = exported_audit_uuids(pipeline_emulator) - expected
    assert len(new_logs) == 7
    assert new_logs <= set(added_uuids)
    # Bookmarks are inclusive: records that share the last bookmark's timestamp
    # may come again (at-least-once), but nothing older.
    assert len(set(added_uuids) - new_logs) <= 3
