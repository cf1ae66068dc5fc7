"""The main job under real Meltano: `meltano install`, then `meltano run` twice.

The project is this repository's meltano.yml (its ``demo`` environment, configured by
meltano.yml alone), copied to a temporary folder and installed once for this module and
test_readme_meltano.py (tests/test_pipeline/meltano_project.py): Meltano's system
directory (plugin venvs, system database) is the copy's, never a developer's `.meltano/`.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.s3_listing import list_objects
from tests.support.emulator_client import call_json
from tests.support.servers import ServerProcess
from tests.test_pipeline.conftest import (
    START_DATE,
    exported_audit_uuids,
)
from tests.test_pipeline.meltano_project import XDIST_GROUP, Project, run_meltano
from tests.test_reliability.ground import expected_export

pytestmark = [pytest.mark.meltano, pytest.mark.xdist_group(XDIST_GROUP)]


def test_meltano_run_exports_then_resumes_from_state(
    meltano_project: Project, pipeline_emulator: ServerProcess, s3_endpoint: str, s3_client: Any
) -> None:
    installed = meltano_project.installed
    assert installed.returncode == 0, (installed.stdout + installed.stderr)[-4000:]
    s3_client.create_bucket(Bucket="endor-demo")
    # meltano.yml's demo environment alone: none of the README's TAP_/TARGET_ exports.
    env = meltano_project.env_without_plugin_settings(
        DEMO_ENDOR_API_URL=pipeline_emulator.url,
        DEMO_S3_ENDPOINT_URL=s3_endpoint,
        DEMO_START_DATE=START_DATE,
    )

    def meltano(args: list[str]) -> None:
        """Run a meltano command in the project; fail the test with its output if it fails."""
        result = run_meltano(meltano_project.root, args, env)
        assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]

    run = ["--environment=demo", "run", "tap-endorlabs", "target-s3-endor"]
    meltano(run)

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
    meltano(run)
    first_keys = {o.key for o in first}
    added = [o for o in list_objects(s3_client, "endor-demo") if o.key not in first_keys]
    added_audit = {r["uuid"] for o in added if "/audit-logs/" in o.key for r in o.records}
    new_audit = exported_audit_uuids(pipeline_emulator) - first_audit
    assert new_audit <= added_audit
    assert len(added_audit - new_audit) <= 3, "the second run re-exported old audit logs"
    added_scans = [o for o in added if o.key.split("/")[4:5] in (["schedule"], ["pr"])]
    assert len(added_scans) == 1
