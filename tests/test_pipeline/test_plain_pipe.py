"""The plain Singer pipe the README documents (its ``export.sh``, run as written), and its state.

The script pipes ``tap-endorlabs`` into ``target-s3-endor`` and keeps the last
line of the target's stdout as ``state.json``: with it the next run exports only
what is new.  It fails when either plugin fails, and moves the state only to a
state the target printed (a failing tap once left an empty state file behind, so
the next run exported everything again); after a failure that state still keeps
the run's progress.  It refuses a second run on the same state file.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.s3_listing import list_objects
from tests.support.emulator_client import call_json
from tests.support.servers import REPO_ROOT, ServerProcess
from tests.test_pipeline.conftest import (
    exported_audit_uuids,
    tap_config,
    target_config,
)

BIN = Path(sys.executable).parent
README = (REPO_ROOT / "README.md").read_text()


def readme_script() -> str:
    """The README's ``export.sh``, exactly as it stands there."""
    blocks = re.findall(r"```sh\n(#!/usr/bin/env bash\n# export.sh.*?)```", README, re.DOTALL)
    assert len(blocks) == 1, "the README shows export.sh once"
    return blocks[0]


def run_script(
    workdir: Path, first_on_path: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the README's export.sh in ``workdir``, with both plugins on PATH."""
    script = workdir / "export.sh"
    script.write_text(readme_script())
    path = os.pathsep.join([*([str(first_on_path)] if first_on_path else []), str(BIN)])
    return subprocess.run(
        ["bash", str(script)],
        cwd=workdir,
        env={**os.environ, "PATH": f"{path}{os.pathsep}{os.environ.get('PATH', '')}"},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def run_pipe(workdir: Path) -> None:
    """One successful run of the README's script."""
    result = run_script(workdir)
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

    run_pipe(tmp_path)
    lines = (tmp_path / "new-state.json").read_text().splitlines()
    assert lines, "the target printed no state"
    state = json.loads(lines[-1])
    assert "bookmarks" in state
    assert (tmp_path / "state.json").read_text() == lines[-1] + "\n"

    first = list_objects(s3_client, bucket)
    expected = exported_audit_uuids(pipeline_emulator)
    assert set(audit_uuids(first)) == expected

    call_json(pipeline_emulator, "POST", "/_emulator/advance", {"seconds": 120, "audit_logs": 7})
    run_pipe(tmp_path)

    first_keys = {stored.key for stored in first}
    added = [stored for stored in list_objects(s3_client, bucket) if stored.key not in first_keys]
    added_uuids = audit_uuids(added)
    new_logs = exported_audit_uuids(pipeline_emulator) - expected
    assert len(new_logs) == 7
    assert new_logs <= set(added_uuids)
    # Bookmarks are inclusive: records that share the last bookmark's timestamp
    # may come again (at-least-once), but nothing older.
    assert len(set(added_uuids) - new_logs) <= 3


def test_a_failed_run_keeps_the_state_and_a_second_run_is_refused(
    tmp_path: Path, pipeline_emulator: ServerProcess, s3_endpoint: str, s3_client: Any, bucket: str
) -> None:
    good_state = '{"bookmarks": {"audit_logs": {"partitions": []}}}\n'
    (tmp_path / "state.json").write_text(good_state)
    (tmp_path / "target.json").write_text(json.dumps(target_config(s3_endpoint, bucket)))

    # The tap fails at its first request (a wrong secret); the target, fed nothing, exits 0.
    refused = {**tap_config(pipeline_emulator), "api_secret": "wrong-secret"}
    (tmp_path / "tap.json").write_text(json.dumps(refused))
    failed = run_script(tmp_path)
    assert failed.returncode != 0
    assert "rejected the API key" in failed.stderr
    assert (tmp_path / "state.json").read_text() == good_state

    # While another run holds the state file's lock, the script refuses to start.
    (tmp_path / "tap.json").write_text(json.dumps(tap_config(pipeline_emulator)))
    with (tmp_path / "state.json.lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        second = run_script(tmp_path)
    assert second.returncode == 1
    assert "another run holds state.json.lock" in second.stderr
    assert (tmp_path / "state.json").read_text() == good_state
    assert list_objects(s3_client, bucket) == []


SENT = {"id": "sent-before-the-failure"}
SENT_STATE = {"bookmarks": {"things": {"reached": SENT["id"]}}}
MESSAGES = [
    {
        "type": "SCHEMA",
        "stream": "things",
        "schema": {"type": "object", "properties": {"id": {"type": "string"}}},
        "key_properties": ["id"],
    },
    {"type": "RECORD", "stream": "things", "record": SENT},
    {"type": "STATE", "value": SENT_STATE},
]
# A tap that sends a record and its state, then fails.
FAILING_TAP = "\n".join(
    [
        "#!/bin/sh",
        "cat <<'SINGER'",
        *(json.dumps(message) for message in MESSAGES),
        "SINGER",
        "echo 'tap-endorlabs: error: the API went away' >&2",
        "exit 3",
        "",
    ]
)


def test_a_run_that_fails_after_progress_keeps_that_progress(
    tmp_path: Path, s3_endpoint: str, s3_client: Any, bucket: str
) -> None:
    """The target's last state is sound after a failure: the script keeps it, and fails."""
    (tmp_path / "state.json").write_text('{"bookmarks": {}}\n')
    (tmp_path / "tap.json").write_text("{}")
    (tmp_path / "target.json").write_text(json.dumps(target_config(s3_endpoint, bucket)))
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "tap-endorlabs").write_text(FAILING_TAP)
    (fake / "tap-endorlabs").chmod(0o755)

    failed = run_script(tmp_path, first_on_path=fake)
    assert failed.returncode == 3, failed.stderr[-2000:]
    state = json.loads((tmp_path / "state.json").read_text())
    assert state == SENT_STATE
    records = [record for stored in list_objects(s3_client, bucket) for record in stored.records]
    assert records == [SENT]
