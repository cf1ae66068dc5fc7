"""Every Meltano command the README shows runs, as written, against this project.

The project is copied to a temporary folder (``meltano config set`` writes to
meltano.yml) with ``pip_url`` pointing back here, and any ``inherit_from``
example of the README added, so the plugins it names exist too; it is installed
once, for test_meltano.py too (tests/test_pipeline/meltano_project.py).  One real
``meltano run`` (the README's main job, configured through the environment
variables the README exports); the other runs are ``--dry-run``, which parses
and validates the same invocation.  The first-contact errors run under Meltano
too: each ends in the tap's one line, no traceback.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.test_pipeline.meltano_project import README, README_BUCKET, XDIST_GROUP, Project

pytestmark = [pytest.mark.meltano, pytest.mark.xdist_group(XDIST_GROUP)]
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


def test_the_readme_meltano_commands_run(meltano_project: Project, s3_client: Any) -> None:
    project = meltano_project
    runnable = {cmd: args for cmd, args in README_COMMANDS.items() if isinstance(args, list)}
    # The project fixture ran `meltano install` (once, for every test of the project).
    assert runnable.pop("meltano install") == project.installed.args[1:]
    assert project.installed.returncode == 0, project.installed.stderr[-3000:]
    assert "DeprecationWarning" not in project.installed.stderr, "meltano.yml uses a deprecated key"
    # README commands that run as the same arguments ("meltano run" is the job's dry run)
    # run once.
    for args in {tuple(args): None for args in runnable.values()}:
        commands = [command for command, same in runnable.items() if tuple(same) == args]
        result = project.meltano(list(args))
        assert result.returncode == 0, f"{commands}: {(result.stdout + result.stderr)[-3000:]}"
        assert "Traceback" not in result.stderr, commands
    assert "namespace: acme" in (project.root / "meltano.yml").read_text()
    listed = s3_client.list_objects_v2(Bucket=README_BUCKET).get("Contents", [])
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
    meltano_project: Project, args: list[str], env: dict[str, str], line: str
) -> None:
    assert meltano_project.installed.returncode == 0, meltano_project.installed.stderr[-3000:]
    result = meltano_project.meltano(args, **env)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert line in output
    assert "Traceback" not in output
