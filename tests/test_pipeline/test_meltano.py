"""The main job under real Meltano: `meltano install`, then `meltano run` twice.

Meltano's system directory (plugin venvs, system database) goes to a temporary
folder through MELTANO_SYS_DIR_ROOT, so the test never touches a developer's
own `.meltano/`; the project itself is this repository's meltano.yml.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.s3_listing import list_objects
from tests.support.emulator_client import call_json
from tests.support.servers import REPO_ROOT, ServerProcess
from tests.test_pipeline.conftest import (
    START_DATE,
    exported_audit_uuids,
)
from tests.test_reliability.ground import expected_export

pytestmark = pytest.mark.meltano
MELTANO = str(Path(sys.executable).parent / "meltano")


def meltano(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run a meltano command in the project; fail the test with its output if it fails."""
    result = subprocess.run(
        [MELTANO, *args],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    return result


def test_meltano_run_exports_then_resumes_from_state(
    tmp_path: Path, pipeline_emulator: ServerProcess, s3_endpoint: str, s3_client: Any
) -> None:
    s3_client.create_bucket(Bucket="endor-demo")
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "MELTANO_SYS_DIR_ROOT": str(tmp_path / "meltano-sys"),
        "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false",
        "DEMO_ENDOR_API_URL": pipeline_emulator.url,
        "DEMO_S3_ENDPOINT_URL": s3_endpoint,
        "DEMO_START_DATE": START_DATE,
    }
    meltano(["install"], env)
    run = ["--environment=demo", "run", "tap-endorlabs", "target-s3-endor"]
    meltano(run, env)

    first = list_objects(s3_client, "endor-demo")
    first_audit = {r["uuid"] for o in first if "/audit-logs/" in o.key for r in o.records}
    expected_audit = exported_audit_uuids(pipeline_emulator)
    assert first_audit == expected_audit
    scan_keys = [o.key for o in first if o.key.split("/")[4:5] in (["schedule"], ["pr"])]
    completed_scans = expected_export(pipeline_emulator, START_DATE).scan_findings
    assert len(scan_keys) == len(completed_scans)
    assert all(key.startswith("endor/") for key in scan_keys)
    # meltano.yml selects every stream, whole: authentication logs too, every field kept.
    sign_ins = [r for o in first if "/authentication-logs/" in o.key for r in o.records]
    assert sign_ins and all(r["spec"]["uri"] and r["meta"]["create_time"] for r in sign_ins)
    assert {r["spec"]["success"] for r in sign_ins} == {True, False}

    call_json(
        pipeline_emulator,
        "POST",
        "/_emulator/advance",
        {"seconds": 300, "audit_logs": 9, "scans": 1},
    )
    meltano(run, env)
    first_keys = {o.key for o in first}
    added = [o for o in list_objects(s3_client, "endor-demo") if o.key not in first_keys]
    added_audit = {r["uuid"] for o in added if "/audit-logs/" in o.key for r in o.records}
    new_audit = exported_audit_uuids(pipeline_emulator) - first_audit
    assert new_audit <= added_audit
    assert len(added_audit - new_audit) <= 3, "the second run re-exported old audit logs"
    added_scans = [o for o in added if o.key.split("/")[4:5] in (["schedule"], ["pr"])]
    assert len(added_scans) == 1
