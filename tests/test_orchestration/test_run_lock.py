"""What keeps two runs of one state id apart: Meltano's system database, not the state backend.

``meltano run`` refuses to start while its system database holds a RUNNING job
of the same state id.  Two project directories sharing one system database
(as machines sharing ``MELTANO_DATABASE_URI``) are kept apart; a machine with a
system database of its own is not, even on the same S3 state backend, whose
lock object covers only each read-merge-write of the state: a lock held by
someone else holds back that write, and nothing else.  Run A is held in an
emulator request (a ``slow`` fault) while the others start; the tests wait for
what the servers report (the emulator's fault count, the S3 proxy's reads of
the lock object), not for time to pass.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from orchestration.dagster_endor.worker import state_id
from tests.support.emulator_client import call_json
from tests.support.servers import ServerProcess
from tests.test_orchestration.machines import (
    ENVIRONMENT,
    Shared,
    make_project,
    run_worker,
    start_worker,
    state_key,
    state_objects,
)

pytestmark = pytest.mark.orchestration
NAMESPACE = "acme.platform"
HOLD_SECONDS = 600  # longer than the test; run A is killed once the others are done


def wait_for(event: Callable[[], bool], run: subprocess.Popen[str], what: str) -> None:
    """Wait until a server reports ``event`` while ``run`` still runs (a short poll, no sleep)."""
    deadline = time.monotonic() + 300
    while not event():
        assert run.poll() is None, f"the run ended before {what}"
        assert time.monotonic() < deadline, f"the run never got to {what}"
        time.sleep(0.05)


def test_a_running_state_id_is_refused_by_a_shared_system_database_only(
    tmp_path: Path, shared: Shared, s3_client: Any
) -> None:
    system_db = tmp_path / "shared-system.db"
    call_json(
        shared.emulator,
        "POST",
        "/_emulator/faults",
        {"faults": [{"type": "slow", "times": 1}], "slow_delay": HOLD_SECONDS},
    )
    machine_a = make_project(tmp_path / "machine-a")
    env_a = {**shared.env(machine_a, system_db), "TAP_ENDORLABS_REQUEST_TIMEOUT": "900"}
    run_a = start_worker(machine_a, NAMESPACE, env_a, subprocess.DEVNULL)
    try:
        wait_for(
            lambda: call_json(shared.emulator, "GET", "/_emulator/stats")["faults_injected"] >= 1,
            run_a,
            "the emulator's slow fault",
        )

        machine_b = make_project(tmp_path / "machine-b")
        code, output = run_worker(
            machine_b, NAMESPACE, shared.env(machine_b, system_db), check=False
        )
        assert code != 0
        assert f"Another '{state_id(ENVIRONMENT, NAMESPACE)}' pipeline is already running" in output
        # While A runs, the state backend holds nothing of it: no state yet, and no lock object.
        assert state_objects(s3_client, shared.state_bucket) == {}

        machine_c = make_project(tmp_path / "machine-c")
        run_worker(machine_c, NAMESPACE, shared.env(machine_c))
        assert run_a.poll() is None, "run A ended: C did not overlap it"
        assert set(state_objects(s3_client, shared.state_bucket)) == {state_key(NAMESPACE)}
    finally:
        os.killpg(run_a.pid, signal.SIGKILL)
        run_a.wait(timeout=60)


def lock_reads(proxy: ServerProcess, lock_path: str) -> int:
    """How often Meltano has read (GET or HEAD) the lock object through the proxy."""
    paths = call_json(proxy, "GET", "/_proxy/stats")["paths"]
    return sum(paths.get(f"{method} {lock_path}", 0) for method in ("GET", "HEAD"))


def test_the_state_backend_lock_holds_back_the_state_write_until_released(
    tmp_path: Path, shared: Shared, s3_client: Any, s3_proxy: ServerProcess
) -> None:
    lock_key = state_key(NAMESPACE).rsplit("/", 1)[0] + "/lock"
    # Another Meltano holds the lock, as it writes it: the time it took the lock.
    s3_client.put_object(Bucket=shared.state_bucket, Key=lock_key, Body=str(time.time()).encode())
    machine = make_project(tmp_path / "machine")
    env = {
        **shared.env(machine),
        "MELTANO_STATE_BACKEND_S3_ENDPOINT_URL": s3_proxy.url,
        "MELTANO_STATE_BACKEND_LOCK_TIMEOUT_SECONDS": "3600",
    }
    with (tmp_path / "run.log").open("w") as log:
        run = start_worker(machine, NAMESPACE, env, log)
        try:
            wait_for(
                lambda: lock_reads(s3_proxy, f"/{shared.state_bucket}/{lock_key}") >= 2,
                run,
                "a second read of the lock",
            )
            # Meltano found the lock taken and tried again; the state cannot have been written.
            assert run.poll() is None
            assert set(state_objects(s3_client, shared.state_bucket)) == {lock_key}

            s3_client.delete_object(Bucket=shared.state_bucket, Key=lock_key)
            assert run.wait(timeout=300) == 0, (tmp_path / "run.log").read_text()[-3000:]
        finally:
            if run.poll() is None:
                os.killpg(run.pid, signal.SIGKILL)
                run.wait(timeout=60)
    assert set(state_objects(s3_client, shared.state_bucket)) == {state_key(NAMESPACE)}
