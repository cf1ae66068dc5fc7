"""The Dagster definitions run one namespace's partition in-process against the local servers.

The job is the one ``orchestration/dagster_endor/definitions.py`` defines, with
its own resources; the partition's ``meltano run`` is a real Meltano process in
a project directory of its own, with the S3 state backend of the other tests.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import dagster as dg
import pytest

from orchestration.dagster_endor.definitions import MeltanoProject, build_definitions
from tests.s3_listing import list_objects
from tests.test_orchestration.expected import (
    audit_by_namespace,
    expected_audit,
    expected_scans,
    namespaces_written,
    scans_by_namespace,
)
from tests.test_orchestration.machines import (
    MELTANO,
    Shared,
    make_project,
    state_key,
    state_objects,
)

pytestmark = pytest.mark.orchestration
NAMESPACES = ["acme.platform", "acme.security"]


@pytest.fixture
def project(tmp_path: Path, shared: Shared, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A Meltano project for Dagster's runs; the machine's settings in this process's environment.

    ``PipesSubprocessClient`` passes this process's environment on to ``meltano``.
    """
    project = make_project(tmp_path / "dagster-worker")
    for name, value in shared.env(project).items():
        if os.environ.get(name) != value:
            monkeypatch.setenv(name, value)
    return project


def test_dagster_job_exports_one_namespace_partition(
    project: Path, shared: Shared, s3_client: Any
) -> None:
    defs = build_definitions(NAMESPACES, MeltanoProject(project_dir=str(project), meltano=MELTANO))

    result = defs.resolve_job_def("endorlabs_export_job").execute_in_process(
        partition_key="acme.security"
    )

    assert result.success
    [materialization] = result.asset_materializations_for_node("endorlabs_export")
    assert materialization.partition == "acme.security"
    objects = list_objects(s3_client, shared.export_bucket)
    assert namespaces_written(objects) == {"acme.security"}
    assert sorted(audit_by_namespace(objects)["acme.security"]) == sorted(
        expected_audit(shared.emulator, "acme.security")
    )
    assert scans_by_namespace(objects)["acme.security"] == expected_scans(
        shared.emulator, "acme.security"
    )
    assert set(state_objects(s3_client, shared.state_bucket)) == {state_key("acme.security")}


def test_dagster_partition_fails_when_its_meltano_run_fails(
    project: Path, shared: Shared, s3_client: Any
) -> None:
    # The emulator's key may not read other-corp (HTTP 403): the tap exits non-zero.
    defs = build_definitions(
        ["other-corp"], MeltanoProject(project_dir=str(project), meltano=MELTANO)
    )

    result = defs.resolve_job_def("endorlabs_export_job").execute_in_process(
        partition_key="other-corp", raise_on_error=False
    )

    assert not result.success
    assert result.asset_materializations_for_node("endorlabs_export") == []
    assert state_objects(s3_client, shared.state_bucket) == {}


def test_dagster_schedule_requests_one_run_per_namespace() -> None:
    defs = build_definitions(NAMESPACES, MeltanoProject(project_dir="."))
    schedule = defs.resolve_schedule_def("endorlabs_export_every_12h")
    context = dg.build_schedule_context(
        repository_def=defs.get_repository_def(),
        scheduled_execution_time=datetime(2026, 1, 1, tzinfo=UTC),
    )

    requests = list(schedule.evaluate_tick(context).run_requests or [])

    assert sorted(request.partition_key or "" for request in requests) == NAMESPACES
    assert len({request.run_key for request in requests}) == len(NAMESPACES)
