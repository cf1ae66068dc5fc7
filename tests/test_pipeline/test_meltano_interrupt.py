"""An interrupted Meltano run keeps the state the run reached (``endor-meltano``, real Meltano).

Interrupted itself, Meltano 4.4 closes its database session before its plugins
have stopped, and drops the state the target prints on its way out: a user's
Ctrl-C once kept ``{}`` and the next run exported every audit log again.
``endor-meltano`` passes the interrupt to the plugins only.  Here the run is
held in an API request (the emulator's ``slow`` fault on the first finding-log
page, after every audit log has been sent) and then gets SIGINT, as a
terminal's Ctrl-C delivers it to the foreground process group, or SIGTERM, as
``docker stop`` or an orchestrator sends it to the one process; the test waits
for what the emulator reports, not for time to pass.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.s3_listing import list_objects
from tests.support.emulator_client import call_json
from tests.support.servers import REPO_ROOT, ServerProcess
from tests.test_pipeline.conftest import START_DATE
from tests.test_pipeline.meltano_project import run_meltano

pytestmark = pytest.mark.meltano
BIN = Path(sys.executable).parent
STATE_ID = "demo:tap-endorlabs-to-target-s3-endor"


def make_project(root: Path) -> None:
    """This repository's meltano.yml, with the plugins of this environment (nothing to install)."""
    project = yaml.safe_load((REPO_ROOT / "meltano.yml").read_text())
    for kind in ("extractors", "loaders"):
        for plugin in project["plugins"][kind]:
            plugin.pop("pip_url", None)
    root.mkdir()
    (root / "meltano.yml").write_text(yaml.safe_dump(project, sort_keys=False))


@pytest.mark.parametrize(
    "stop",
    [
        pytest.param(lambda pid: os.killpg(pid, signal.SIGINT), id="Ctrl-C to the process group"),
        pytest.param(lambda pid: os.kill(pid, signal.SIGTERM), id="SIGTERM to endor-meltano"),
    ],
)
def test_an_interrupt_keeps_the_state_the_target_wrote(
    stop: Callable[[int], None],
    *,
    tmp_path: Path,
    pipeline_emulator: ServerProcess,
    s3_endpoint: str,
    s3_client: Any,
    bucket: str,
) -> None:
    root = tmp_path / "project"
    make_project(root)
    env = {
        **os.environ,
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false",
        "DEMO_ENDOR_API_URL": pipeline_emulator.url,
        "DEMO_S3_ENDPOINT_URL": s3_endpoint,
        "DEMO_START_DATE": START_DATE,
        "TAP_ENDORLABS_REQUEST_TIMEOUT": "120",
        "TARGET_S3_ENDOR_BUCKET": bucket,  # a bucket of its own: others list endor-demo whole
    }
    call_json(
        pipeline_emulator,
        "POST",
        "/_emulator/faults",
        {"faults": [{"type": "slow", "times": 1, "path": "finding-logs"}], "slow_delay": 5},
    )
    run = subprocess.Popen(
        [
            str(BIN / "endor-meltano"),
            "--environment=demo",
            "run",
            "tap-endorlabs",
            "target-s3-endor",
        ],
        cwd=root,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own terminal's foreground group, as in a shell
    )
    try:
        deadline = time.monotonic() + 300
        while call_json(pipeline_emulator, "GET", "/_emulator/stats")["faults_injected"] < 1:
            assert run.poll() is None, "the run ended before its held request"
            assert time.monotonic() < deadline, "the run never reached finding logs"
            time.sleep(0.05)
        stop(run.pid)
        output, _ = run.communicate(timeout=300)
    finally:
        if run.poll() is None:
            run.kill()
    assert run.returncode in (128 + signal.SIGINT, 128 + signal.SIGTERM), output[-3000:]
    assert "stopping the tap" in output
    assert "Traceback" not in output, output[-3000:]

    shown = run_meltano(root, ["--environment=demo", "state", "get", STATE_ID], env)
    assert shown.returncode == 0, shown.stderr[-2000:]
    state = json.loads(shown.stdout).get("singer_state")
    assert state, f"Meltano kept no state: {output[-3000:]}"
    reached = {
        partition["context"]["namespace"]: datetime.fromisoformat(
            partition["replication_key_value"]
        )
        for partition in state["bookmarks"]["audit_logs"]["partitions"]
    }
    exported = [
        record
        for stored in list_objects(s3_client, bucket)
        if "/audit-logs/" in stored.key
        for record in stored.records
    ]
    assert exported, "the run was interrupted before it wrote any audit log"
    # Every audit log the run put in S3 is covered by the state Meltano kept: none comes again.
    late = [
        record["uuid"]
        for record in exported
        if datetime.fromisoformat(record["meta"]["create_time"])
        > reached[record["tenant_meta"]["namespace"]]
    ]
    assert late == []
