"""Meltano project directories standing in for separate machines, sharing one state backend.

Each "machine" is a directory of its own holding a copy of this repository's
meltano.yml, its own system database (``.meltano/``) and nothing else: the
plugins are this virtual environment's ``tap-endorlabs`` and ``target-s3-endor``
(on PATH; the copy drops ``pip_url``, so there is nothing to ``meltano install``).
What the machines share is what real ones would: Meltano's S3 state backend, the
export bucket, and the Endor Labs API (the emulator).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import yaml

from orchestration.dagster_endor.worker import meltano_run_args, namespace_env, state_id
from tests.conftest import S3_TEST_CREDENTIALS
from tests.support.servers import REPO_ROOT, ServerProcess
from tests.test_pipeline.conftest import START_DATE

MELTANO = str(Path(sys.executable).parent / "meltano")
ENVIRONMENT = "demo"
STATE_PREFIX = "endor-export"


def make_project(directory: Path) -> Path:
    """A Meltano project in ``directory``: this repository's meltano.yml, plugins from PATH."""
    project = yaml.safe_load((REPO_ROOT / "meltano.yml").read_text())
    for kind in ("extractors", "loaders"):
        for plugin in project["plugins"][kind]:
            plugin.pop("pip_url", None)
    directory.mkdir(parents=True)
    (directory / "meltano.yml").write_text(yaml.safe_dump(project, sort_keys=False))
    return directory


def state_backend_env(state_uri: str, s3_endpoint: str) -> dict[str, str]:
    """Meltano's S3 state backend settings, as the README shows them."""
    return {
        "MELTANO_STATE_BACKEND_URI": state_uri,
        "MELTANO_STATE_BACKEND_S3_ENDPOINT_URL": s3_endpoint,
        "MELTANO_STATE_BACKEND_S3_AWS_ACCESS_KEY_ID": S3_TEST_CREDENTIALS["aws_access_key_id"],
        "MELTANO_STATE_BACKEND_S3_AWS_SECRET_ACCESS_KEY": S3_TEST_CREDENTIALS[
            "aws_secret_access_key"
        ],
    }


@dataclass(frozen=True)
class Shared:
    """What every machine of the tenant shares: the API, the export bucket, the state backend."""

    emulator: ServerProcess
    s3_endpoint: str
    export_bucket: str
    state_bucket: str

    @property
    def state_uri(self) -> str:
        """Meltano's ``state_backend.uri``."""
        return f"s3://{self.state_bucket}/{STATE_PREFIX}"

    def env(self, project: Path, system_db: Path | None = None) -> dict[str, str]:
        """The environment of one machine's Meltano; ``system_db`` shares a system database."""
        env = {
            **os.environ,
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
            "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false",
            "MELTANO_ENVIRONMENT": ENVIRONMENT,
            "MELTANO_PROJECT_ROOT": str(project),
            **state_backend_env(self.state_uri, self.s3_endpoint),
            "DEMO_ENDOR_API_URL": self.emulator.url,
            "DEMO_S3_ENDPOINT_URL": self.s3_endpoint,
            "DEMO_START_DATE": START_DATE,
            "TARGET_S3_ENDOR_BUCKET": self.export_bucket,
            "TARGET_S3_ENDOR_AWS_ACCESS_KEY_ID": S3_TEST_CREDENTIALS["aws_access_key_id"],
            "TARGET_S3_ENDOR_AWS_SECRET_ACCESS_KEY": S3_TEST_CREDENTIALS["aws_secret_access_key"],
        }
        if system_db is not None:
            env["MELTANO_DATABASE_URI"] = f"sqlite:///{system_db}"
        return env


def start_worker(
    project: Path, namespace: str, env: dict[str, str], log: IO[str] | int
) -> subprocess.Popen[str]:
    """Start the README's worker command for one namespace in a project directory."""
    return subprocess.Popen(
        [MELTANO, *meltano_run_args(namespace)],
        cwd=project,
        env={**env, **namespace_env(namespace)},
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )


def run_worker(
    project: Path, namespace: str, env: dict[str, str], *, check: bool = True
) -> tuple[int, str]:
    """Run one worker to the end: its exit code and output (``check``: fail the test unless 0)."""
    process = start_worker(project, namespace, env, subprocess.PIPE)
    output, _ = process.communicate(timeout=600)
    assert not check or process.returncode == 0, output[-4000:]
    return process.returncode, output


def state_objects(s3_client: Any, bucket: str) -> dict[str, dict[str, Any]]:
    """The state backend's objects: key -> decoded JSON (Meltano writes ``<id>/state.json``)."""
    listing = s3_client.list_objects_v2(Bucket=bucket).get("Contents", [])
    return {
        item["Key"]: json.loads(s3_client.get_object(Bucket=bucket, Key=item["Key"])["Body"].read())
        for item in listing
    }


def state_key(namespace: str) -> str:
    """Where Meltano's S3 backend keeps a namespace's state (``<prefix>/<state id>/state.json``)."""
    return f"{STATE_PREFIX}/{state_id(ENVIRONMENT, namespace)}/state.json"
