"""Two machines export two namespaces in parallel through one S3 state backend; a third resumes.

Each machine is a Meltano project directory of its own with its own system
database; the only thing they share is Meltano's S3 state backend (a bucket
apart from the export bucket), so a namespace's bookmarks follow it to any
machine.  The commands are the README's (``orchestration/dagster_endor/worker.py``).
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.emulator.clock import parse_rfc3339_us
from tests.s3_listing import list_objects
from tests.support.emulator_client import call_json, ground_truth
from tests.test_orchestration.expected import (
    audit_by_namespace,
    bookmarks,
    expected_audit,
    expected_scans,
    namespaces_written,
    scans_by_namespace,
)
from tests.test_orchestration.machines import (
    Shared,
    make_project,
    run_worker,
    start_worker,
    state_key,
    state_objects,
)

pytestmark = pytest.mark.orchestration
PLATFORM, SECURITY = "acme.platform", "acme.security"


def test_two_machines_in_parallel_then_a_third_resumes_from_shared_state(
    tmp_path: Path, shared: Shared, s3_client: Any
) -> None:
    machine_a = make_project(tmp_path / "machine-a")
    machine_b = make_project(tmp_path / "machine-b")
    workers = [
        start_worker(project, namespace, shared.env(project), subprocess.PIPE)
        for project, namespace in ((machine_a, PLATFORM), (machine_b, SECURITY))
    ]
    for worker in workers:
        output, _ = worker.communicate(timeout=600)
        assert worker.returncode == 0, output[-4000:]

    first = list_objects(s3_client, shared.export_bucket)
    assert namespaces_written(first) == {PLATFORM, SECURITY}
    first_audit = audit_by_namespace(first)
    first_scans = scans_by_namespace(first)
    for namespace in (PLATFORM, SECURITY):
        assert sorted(first_audit[namespace]) == sorted(expected_audit(shared.emulator, namespace))
        assert first_scans[namespace] == expected_scans(shared.emulator, namespace)
    states = state_objects(s3_client, shared.state_bucket)
    assert set(states) == {state_key(PLATFORM), state_key(SECURITY)}
    security_state = states[state_key(SECURITY)]

    call_json(shared.emulator, "POST", "/_emulator/advance", {"seconds": 300, "audit_logs": 30})
    new_platform = expected_audit(shared.emulator, PLATFORM) - set(first_audit[PLATFORM])
    assert new_platform, "the emulator added no audit log to acme.platform: the check is empty"

    machine_c = make_project(tmp_path / "machine-c")
    run_worker(machine_c, PLATFORM, shared.env(machine_c))

    first_keys = {stored.key for stored in first}
    added = [o for o in list_objects(s3_client, shared.export_bucket) if o.key not in first_keys]
    assert namespaces_written(added) == {PLATFORM}
    added_audit = audit_by_namespace(added)[PLATFORM]
    assert new_platform <= set(added_audit)
    # Bookmarks are inclusive: at most the one audit log at the bookmark's instant comes again.
    assert len(added_audit) - len(new_platform) <= 1, "machine C did not resume from shared state"
    assert not scans_by_namespace(added), "machine C re-exported scans it had no new data for"
    states = state_objects(s3_client, shared.state_bucket)
    assert states[state_key(SECURITY)] == security_state
    resumed = bookmarks(states[state_key(PLATFORM)])["audit_logs"]["replication_key_value"]
    assert parse_rfc3339_us(resumed) == max(
        parse_rfc3339_us(log["meta"]["create_time"])
        for log in ground_truth(shared.emulator, "audit-logs")
        if log["tenant_meta"]["namespace"] == PLATFORM
    )
