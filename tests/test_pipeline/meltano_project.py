"""One copy of this repository's Meltano project, installed once, for every test that runs
real Meltano commands against it (test_readme_meltano.py, test_meltano.py).

The copy is meltano.yml with ``pip_url: -e .`` made absolute (``-e <this checkout>``,
what ``-e .`` means in the repository) and the README's ``inherit_from`` examples added,
so the plugins the README names exist too.  It lives in a temporary folder: ``meltano
config set`` writes to meltano.yml, and Meltano's system directory (plugin venvs, system
database) is the copy's own ``.meltano/``, never a developer's.  ``meltano install`` (a
README command, its result kept for the test of the README's commands) runs once per
test session (per pytest-xdist worker): the two modules are one ``xdist_group``.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from tests.conftest import EMULATOR_KEY, EMULATOR_SECRET, S3_TEST_CREDENTIALS
from tests.support.servers import REPO_ROOT, ServerProcess, start_emulator
from tests.test_pipeline.conftest import PIPELINE_EMULATOR_ARGS, START_DATE

BIN = Path(sys.executable).parent
README = (REPO_ROOT / "README.md").read_text()
# Where the README's exports (below) point the plugins; other tests set their own.
README_BUCKET = "my-endorlabs-exports"
#: Prefixes of the variables that configure the plugins (the README's exports).
PLUGIN_ENV_PREFIXES = ("TAP_ENDORLABS_", "TARGET_S3_ENDOR_")
#: The xdist group of every test that uses the installed project: one worker installs it.
XDIST_GROUP = "meltano-project"


@dataclass
class Project:
    """A copy of the Meltano project with both plugins installed."""

    root: Path
    env: dict[str, str]
    emulator: ServerProcess
    installed: subprocess.CompletedProcess[str]  # what ``meltano install`` answered

    def meltano(self, args: list[str], **env: str) -> subprocess.CompletedProcess[str]:
        """Run ``meltano ARGS`` in the project."""
        return run_meltano(self.root, args, {**self.env, **env})

    def env_without_plugin_settings(self, **env: str) -> dict[str, str]:
        """The project's environment without the README's exports (TAP_ENDORLABS_*,
        TARGET_S3_ENDOR_*), plus ``env``: a run configured by meltano.yml alone."""
        kept = {
            name: value
            for name, value in self.env.items()
            if not name.startswith(PLUGIN_ENV_PREFIXES)
        }
        return {**kept, **env}


def run_meltano(
    root: Path, args: list[str], env: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    """Run ``meltano ARGS`` in the project at ``root`` with exactly ``env``."""
    return subprocess.run(
        [str(BIN / "meltano"), *args],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def project_meltano_yml() -> dict[str, Any]:
    """meltano.yml with pip_url pointing here, plus the README's inherit_from plugins."""
    project = yaml.safe_load((REPO_ROOT / "meltano.yml").read_text())
    for kind in ("extractors", "loaders"):
        for plugin in project["plugins"][kind]:
            assert plugin["pip_url"] == "-e .", "meltano.yml installs this checkout"
            plugin["pip_url"] = f"-e {REPO_ROOT}"
    blocks = re.findall(r"```yaml\n(.*?)```", README, re.DOTALL)
    for example in (yaml.safe_load(block) for block in blocks if "inherit_from" in block):
        project["plugins"]["extractors"] += example["plugins"]["extractors"]
    return project


@contextmanager
def installed_project(root: Path, s3_endpoint: str, s3_client: Any) -> Iterator[Project]:
    """The project in ``root``, its emulator (seed 5) running, ``meltano install`` done."""
    (root / "meltano.yml").write_text(yaml.safe_dump(project_meltano_yml(), sort_keys=False))
    s3_client.create_bucket(Bucket=README_BUCKET)
    with start_emulator(*PIPELINE_EMULATOR_ARGS) as emulator:
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
            "TARGET_S3_ENDOR_BUCKET": README_BUCKET,
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
        yield Project(root, env, emulator, installed=run_meltano(root, ["install"], env))
