"""The README's "Scaling out" section shows the commands and names the other tests run."""

from __future__ import annotations

import pytest

from orchestration.dagster_endor import definitions
from orchestration.dagster_endor.definitions import MeltanoProject, build_definitions
from orchestration.dagster_endor.worker import shell_lines
from tests.support.servers import REPO_ROOT
from tests.test_orchestration.machines import STATE_PREFIX, state_backend_env

pytestmark = pytest.mark.orchestration


def scaling_out_section() -> str:
    """The README from "## Scaling out" to the next second-level heading."""
    text = (REPO_ROOT / "README.md").read_text()
    start = text.index("\n## Scaling out\n")
    return text[start : text.index("\n## ", start + 1)]


def test_readme_shows_the_worker_command_the_tests_run() -> None:
    section = scaling_out_section()
    block = "\n".join(shell_lines("acme.platform"))
    assert f"```sh\n{block}\n```" in section


def test_readme_names_the_state_backend_settings_the_tests_set() -> None:
    section = scaling_out_section()
    for name in state_backend_env(f"s3://state/{STATE_PREFIX}", "http://127.0.0.1:9000"):
        assert name in section
    assert f"s3://my-meltano-state/{STATE_PREFIX}" in section


def test_readme_names_the_dagster_definitions_the_tests_run() -> None:
    section = scaling_out_section()
    defs = build_definitions(["acme.platform"], MeltanoProject(project_dir="."))
    names = [
        "orchestration.dagster_endor.definitions",
        definitions.NAMESPACES_VARIABLE,
        definitions.PROJECT_DIR_VARIABLE,
        *(job.name for job in defs.jobs or []),
        *(schedule.name for schedule in defs.schedules or []),
        *(key.to_user_string() for key in defs.resolve_all_asset_keys()),
    ]
    for name in names:
        assert name in section, name
