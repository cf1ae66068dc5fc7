"""A region the target's own check accepts is one botocore takes; a refused one is one line.

botocore refuses a region that is not a host label when it builds a client, with an
``InvalidRegionError`` traceback; the ``region`` setting is checked against botocore's
own validator at start, and a region the credential chain gives (AWS_DEFAULT_REGION,
a profile's ``region``) becomes one line naming where it came from, in a run, in
``--test`` and in ``--verify``.  No S3 is needed: the client is refused before any request.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import InvalidRegionError
from botocore.utils import validate_region_name
from hypothesis import given
from hypothesis import strategies as st

from target_s3_endor.errors import SettingsError
from target_s3_endor.settings.limits import check_limits
from tests.test_target.conftest import run_cli_in_process

NOWHERE = "http://127.0.0.1:1"  # never contacted: the client is refused first
KEYS = {"aws_access_key_id": "AKIDEXAMPLE", "aws_secret_access_key": "not-a-secret"}
BASE = {"bucket": "acme-exports", "max_attempts": 1, "max_retry_seconds": 0, **KEYS}
MESSAGES = (
    '{"type":"SCHEMA","stream":"s","schema":{"type":"object"},"key_properties":[]}\n'
    '{"type":"RECORD","stream":"s","record":{}}\n'
)
COMMANDS = [(), ("--test",), ("--verify",)]


def _botocore_takes(region: str) -> bool:
    """The oracle, botocore's own validator called here (not ``storage.region.botocore_takes``,
    which the check under test uses)."""
    try:
        validate_region_name(region)
    except InvalidRegionError:
        return False
    return True


@given(
    st.text(alphabet="ab-Z09_ .\n\u00e9", max_size=70)
    | st.builds(lambda n: "a" * n, st.integers(60, 66))
)
def test_the_region_check_for_a_store_is_botocores_own(region: str) -> None:
    """With endpoint_url, the check accepts exactly what botocore takes (no newline)."""
    config = {"bucket": "acme-exports", "endpoint_url": NOWHERE, "region": region}
    try:
        check_limits(config)
        accepted = True
    except SettingsError as error:
        assert "region" in str(error) and "\n" not in str(error)
        accepted = False
    if not region:
        assert accepted  # no region: the credential chain's
    else:
        assert accepted == (_botocore_takes(region) and "\n" not in region)


@given(st.text(alphabet="us-east1a_", min_size=1, max_size=80))
def test_an_aws_region_accepted_is_one_botocore_takes(region: str) -> None:
    try:
        check_limits({"bucket": "acme-exports", "region": region})
    except SettingsError:
        return
    assert _botocore_takes(region)


def _one_error_line(stderr: str, *says: str) -> None:
    assert "Traceback" not in stderr and "InvalidRegionError" not in stderr, stderr
    errors = [line for line in stderr.splitlines() if "ERROR" in line]
    assert len(errors) == 1, stderr
    assert all(part in errors[0] for part in says), errors[0]


@pytest.mark.parametrize("command", COMMANDS, ids=["run", "test", "verify"])
@pytest.mark.parametrize(
    "settings",
    [
        {"region": "us-" + "a" * 70 + "-1"},
        {"region": "us-" + "a" * 70 + "-1", "layout": "security-lake"},
        {"region": "my_store", "endpoint_url": NOWHERE},
        {"region": "-auto", "endpoint_url": NOWHERE},
        {"region": "a" * 64, "endpoint_url": NOWHERE},
    ],
    ids=["aws-long", "security-lake-long", "underscore", "leading-hyphen", "64-chars"],
)
def test_a_region_setting_botocore_refuses_is_one_line(
    settings: dict[str, Any], command: tuple[str, ...], tmp_path: Path
) -> None:
    run = run_cli_in_process({**BASE, **settings}, MESSAGES, *command, tmp=tmp_path)
    assert run.returncode != 0
    _one_error_line(run.stderr, "region", repr(settings["region"][:40]))


@pytest.mark.parametrize("command", COMMANDS, ids=["run", "test", "verify"])
def test_a_region_from_aws_default_region_is_one_line(
    command: tuple[str, ...], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us_bad region")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "absent"))
    config = {**BASE, "endpoint_url": NOWHERE}
    run = run_cli_in_process(config, MESSAGES, *command, tmp=tmp_path)
    assert run.returncode != 0
    _one_error_line(run.stderr, "region 'us_bad region'", "AWS_DEFAULT_REGION")


@pytest.mark.parametrize("command", COMMANDS, ids=["run", "test", "verify"])
def test_a_region_from_a_profile_is_one_line(
    command: tuple[str, ...], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    aws_config = tmp_path / "aws-config"
    aws_config.write_text(
        "[profile export]\nregion = my_store\n"
        "aws_access_key_id = AKIDEXAMPLE\naws_secret_access_key = not-a-secret\n"
    )
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(aws_config))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "absent"))
    config = {**BASE, "endpoint_url": NOWHERE, "aws_profile": "export"}
    del config["aws_access_key_id"], config["aws_secret_access_key"]
    run = run_cli_in_process(config, MESSAGES, *command, tmp=tmp_path)
    assert run.returncode != 0
    _one_error_line(run.stderr, "region 'my_store'", "profile 'export'")


@pytest.mark.parametrize("command", COMMANDS, ids=["run", "test", "verify"])
def test_a_role_with_a_refused_region_is_one_line(
    command: tuple[str, ...], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The STS client for a role is built with the region too."""
    monkeypatch.setenv("AWS_DEFAULT_REGION", "-bad")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "absent"))
    config = {
        **BASE,
        "endpoint_url": NOWHERE,
        "sts_endpoint_url": NOWHERE,
        "role_arn": "arn:aws:iam::123456789012:role/export",
    }
    run = run_cli_in_process(config, MESSAGES, *command, tmp=tmp_path)
    assert run.returncode != 0
    _one_error_line(run.stderr, "region '-bad'", "AWS_DEFAULT_REGION")
