"""Every Meltano command the README shows runs, as written, against this project.

The project is copied to a temporary folder (``meltano config set`` writes to
meltano.yml) with ``pip_url`` pointing back here, and any ``inherit_from``
example of the README added, so the plugins it names exist too.  One real
``meltano run`` (the README's main job, configured through the environment
variables the README exports); the other runs are ``--dry-run``, which parses
and validates the same invocation.  The first-contact errors run under Meltano
too: each ends in the tap's one line, no traceback.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import EMULATOR_KEY, EMULATOR_SECRET, S3_TEST_CREDENTIALS
from tests.support.servers import REPO_ROOT, ServerProcess, start_emulator
from tests.test_pipeline.conftest import START_DATE

pytestmark = pytest.mark.meltano
BIN = Path(sys.executable).parent
README = (REPO_ROOT / "README.md").read_text()
DRY = ["run", "--dry-run"]

# Each Meltano command of the README -> the arguments the test runs, or why it cannot run.
README_COMMANDS: dict[str, list[str] | str] = {
    "meltano install": ["install"],
    "meltano config set tap-endorlabs namespace acme": [
        "config",
        "set",
        "tap-endorlabs",
        "namespace",
        "acme",
    ],
    "meltano invoke target-s3-endor --test": ["invoke", "target-s3-endor", "--test"],
    "meltano run tap-endorlabs target-s3-endor": ["run", "tap-endorlabs", "target-s3-endor"],
    "meltano --environment=demo run tap-endorlabs target-s3-endor": [
        "--environment=demo",
        *DRY,
        "tap-endorlabs",
        "target-s3-endor",
    ],
    "meltano --log-level=debug run": ["--log-level=debug", *DRY, "endorlabs-to-s3"],
    "meltano run": [*DRY, "endorlabs-to-s3"],
    "meltano run endorlabs-to-s3": [*DRY, "endorlabs-to-s3"],
    "meltano schedule run endorlabs-to-s3-every-12h": [
        "schedule",
        "run",
        "endorlabs-to-s3-every-12h",
        "--dry-run",
    ],
    "meltano run --state-id-suffix=acme.platform tap-endorlabs target-s3-endor": [
        *DRY,
        "--state-id-suffix=acme.platform",
        "tap-endorlabs",
        "target-s3-endor",
    ],
    "meltano state list": ["state", "list"],
    "meltano config print": ["config", "print", "target-s3-endor"],
    # Security Lake: select only the streams with an OCSF class (audit_logs is selected already).
    "meltano select tap-endorlabs audit_logs '*'": ["select", "tap-endorlabs", "audit_logs", "*"],
    "meltano add utility airflow": "downloads the utility from Meltano Hub (no network here)",
    "meltano invoke target-s3-endor --verify": (
        "needs a bucket with a proof: tests/demo.py runs it after a real run, and "
        "tests/test_target/test_verify.py runs the flag itself"
    ),
    "meltano --environment=demo invoke target-s3-endor --verify": (
        "make demo runs it (tests/demo.py) against the bucket its two runs wrote"
    ),
}


def readme_meltano_commands() -> set[str]:
    """Every ``meltano ...`` command in the README, whitespace and ``...`` removed."""
    found = re.finditer(r"\bmeltano(?: [^\s`#(>|]+)+", README)
    return {" ".join(match.group(0).replace("...", "").split()) for match in found}


def test_every_readme_meltano_command_is_run_here() -> None:
    assert readme_meltano_commands() == set(README_COMMANDS)


@dataclass
class Project:
    """A copy of the Meltano project with both plugins installed."""

    root: Path
    env: dict[str, str]
    emulator: ServerProcess

    def meltano(self, args: list[str], **env: str) -> subprocess.CompletedProcess[str]:
        """Run ``meltano ARGS`` in the project."""
        return subprocess.run(
            [str(BIN / "meltano"), *args],
            cwd=self.root,
            env={**self.env, **env},
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )


def _copy_project(root: Path) -> None:
    """meltano.yml with pip_url pointing here, plus the README's inherit_from plugins."""
    project = yaml.safe_load((REPO_ROOT / "meltano.yml").read_text())
    for kind in ("extractors", "loaders"):
        for plugin in project["plugins"][kind]:
            plugin["pip_url"] = f"-e {REPO_ROOT}"
    blocks = re.findall(r"```yaml\n(.*?)```", README, re.DOTALL)
    for example in (yaml.safe_load(block) for block in blocks if "inherit_from" in block):
        project["plugins"]["extractors"] += example["plugins"]["extractors"]
    (root / "meltano.yml").write_text(yaml.safe_dump(project, sort_keys=False))


@pytest.fixture(scope="module")
def project(
    tmp_path_factory: pytest.TempPathFactory, s3_endpoint: str, s3_client: Any
) -> Iterator[Project]:
    root = tmp_path_factory.mktemp("meltano-project")
    _copy_project(root)
    s3_client.create_bucket(Bucket="my-endorlabs-exports")
    with start_emulator("--seed", "5") as emulator:
        env = {
            **os.environ,
            "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
            "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false",
            # The README's exports, pointed at the local servers.
            "TAP_ENDORLABS_NAMESPACE": "acme",
            "TAP_ENDORLABS_API_KEY": EMULATOR_KEY,
            "TAP_ENDORLABS_API_SECRET": EMULATOR_SECRET,
            "TAP_ENDORLABS_START_DATE": START_DATE,
            "TAP_ENDORLABS_API_URL": emulator.url,
            "TARGET_S3_ENDOR_BUCKET": "my-endorlabs-exports",
            "TARGET_S3_ENDOR_REGION": S3_TEST_CREDENTIALS["region_name"],
            "TARGET_S3_ENDOR_ENDPOINT_URL": s3_endpoint,
            # The default credential chain, as on a machine with an AWS profile or role.
            "AWS_ACCESS_KEY_ID": S3_TEST_CREDENTIALS["aws_access_key_id"],
            "AWS_SECRET_ACCESS_KEY": S3_TEST_CREDENTIALS["aws_secret_access_key"],
            "AWS_EC2_METADATA_DISABLED": "true",
            "DEMO_ENDOR_API_URL": emulator.url,
            "DEMO_S3_ENDPOINT_URL": s3_endpoint,
            "DEMO_START_DATE": START_DATE,
            # Number settings as text, as every variable is (Meltano once died on them).
            "TAP_ENDORLABS_WINDOW_HOURS": "36.5",
            "TAP_ENDORLABS_PROGRESS_INTERVAL_SECONDS": "7.5",
            "TARGET_S3_ENDOR_CONNECT_TIMEOUT_SECONDS": "9.5",
            "TARGET_S3_ENDOR_READ_TIMEOUT_SECONDS": "60.5",
        }
        # ... and in the project's .env, the README's other way.
        (root / ".env").write_text("TARGET_S3_ENDOR_BATCH_MAX_AGE_SECONDS=600.5\n")
        yield Project(root, env, emulator)


def test_the_readme_meltano_commands_run(project: Project, s3_client: Any) -> None:
    runnable = {cmd: args for cmd, args in README_COMMANDS.items() if isinstance(args, list)}
    install = runnable.pop("meltano install")
    assert isinstance(install, list)
    first = project.meltano(install)
    assert first.returncode == 0, first.stderr[-3000:]
    assert "DeprecationWarning" not in first.stderr, "meltano.yml uses a deprecated key"
    for command, args in runnable.items():
        result = project.meltano(args)
        assert result.returncode == 0, f"{command}: {(result.stdout + result.stderr)[-3000:]}"
        assert "Traceback" not in result.stderr, command
    assert "namespace: acme" in (project.root / "meltano.yml").read_text()
    listed = s3_client.list_objects_v2(Bucket="my-endorlabs-exports").get("Contents", [])
    keys = [entry["Key"] for entry in listed]
    assert any("/_connection-test/" in key for key in keys)  # invoke target-s3-endor --test
    assert any("/audit-logs/" in key for key in keys)  # the run


@pytest.mark.parametrize(
    ("args", "env", "line"),
    [
        (
            ["invoke", "tap-endorlabs", "--test"],
            {"TAP_ENDORLABS_API_SECRET": "wrong-secret"},
            "tap-endorlabs: error: Endor Labs rejected the API key (HTTP 401)",
        ),
        (
            ["run", "tap-endorlabs", "target-s3-endor"],
            {"TAP_ENDORLABS_START_DATE": "2025-13-45"},
            "tap-endorlabs: error: start_date '2025-13-45' is not a date",
        ),
    ],
    ids=["invoke --test with a wrong secret", "run with a bad start_date (discovery)"],
)
def test_first_contact_errors_under_meltano_are_one_line(
    project: Project, args: list[str], env: dict[str, str], line: str
) -> None:
    installed = project.meltano(["install"])
    assert installed.returncode == 0, installed.stderr[-3000:]
    result = project.meltano(args, **env)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert line in output
    assert "Traceback" not in output
