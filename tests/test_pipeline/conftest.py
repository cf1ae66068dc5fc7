"""Fixtures for end-to-end runs: a populated emulator, a bucket, and both configs."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest

from tests.conftest import EMULATOR_KEY, EMULATOR_NAMESPACE, EMULATOR_SECRET, S3_TEST_CREDENTIALS
from tests.support.servers import ServerProcess
from tests.test_reliability.ground import expected_export

if TYPE_CHECKING:
    from tests.test_pipeline.meltano_project import Project

START_DATE = (datetime.now(UTC) - timedelta(days=45)).strftime("%Y-%m-%dT%H:%M:%SZ")


def exported_audit_uuids(server: ServerProcess) -> set[str]:
    """Uuids of the audit logs a run from START_DATE must export (times compared as instants)."""
    return set(expected_export(server, START_DATE).audit_uuids)


#: The emulator of the end-to-end runs: smaller than the emulator's default (2,000 audit logs,
#: 300 sign-ins, 8 projects), still every stream, three namespaces, many days of windows and
#: objects per stream, and both outcomes of a sign-in; a run costs the tap, the target and the
#: local S3 a third as much.
PIPELINE_EMULATOR_ARGS = (
    "--seed", "5", "--audit-logs", "400", "--authentication-logs", "60", "--projects", "3"
)  # fmt: skip


@pytest.fixture
def pipeline_emulator(emulator_factory: Callable[..., ServerProcess]) -> ServerProcess:
    """A small emulator of its own, so a test may advance its clock and data."""
    return emulator_factory(*PIPELINE_EMULATOR_ARGS)


def tap_config(server: ServerProcess) -> dict[str, Any]:
    """The tap's configuration for an emulator."""
    return {
        "api_url": server.url,
        "namespace": EMULATOR_NAMESPACE,
        "api_key": EMULATOR_KEY,
        "api_secret": EMULATOR_SECRET,
        "include_child_namespaces": True,
        "start_date": START_DATE,
    }


def target_config(endpoint: str, bucket: str) -> dict[str, Any]:
    """The target's configuration for a bucket on the local S3 server."""
    return {
        "bucket": bucket,
        "endpoint_url": endpoint,
        "region": S3_TEST_CREDENTIALS["region_name"],
        "aws_access_key_id": S3_TEST_CREDENTIALS["aws_access_key_id"],
        "aws_secret_access_key": S3_TEST_CREDENTIALS["aws_secret_access_key"],
        "exporter_name": "e2e",
    }


@pytest.fixture(scope="session")
def meltano_project(
    tmp_path_factory: pytest.TempPathFactory, s3_endpoint: str, s3_client: Any
) -> Iterator[Project]:
    """The Meltano project copy, installed once per session (meltano_project.py)."""
    from tests.test_pipeline.meltano_project import installed_project  # it imports this module

    root = tmp_path_factory.mktemp("meltano-project")
    with installed_project(root, s3_endpoint, s3_client) as project:
        yield project
