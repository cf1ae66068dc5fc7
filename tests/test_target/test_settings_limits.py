"""Settings are checked at start, and in --test, against the outside limits they name."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from target_s3_endor.errors import SettingsError
from target_s3_endor.layouts import endor
from target_s3_endor.settings.checks import check_settings
from target_s3_endor.settings.limits import MAX_PART, MIN_PART, check_limits
from tests.test_reliability.bad_inputs import SETTING_LIMITS, BadInput
from tests.test_target.conftest import run_cli_in_process

GOOD = {"bucket": "acme-exports", "endpoint_url": "http://127.0.0.1:9000", "region": "us-east-1"}


@pytest.mark.parametrize("case", SETTING_LIMITS, ids=[case.name for case in SETTING_LIMITS])
def test_each_limit_has_its_one_line(case: BadInput) -> None:
    with pytest.raises(SettingsError) as caught:
        check_settings({**GOOD, **case.config})
    line = str(caught.value)
    assert case.says in line and "\n" not in line
    assert not case.hides or case.hides not in line


@pytest.mark.parametrize(
    "settings",
    [
        {"multipart_part_size_bytes": MIN_PART},
        {"multipart_part_size_bytes": MAX_PART},
        {"batch_max_age_seconds": 0},
        {"role_duration_seconds": 900, "role_arn": "arn:aws-cn:iam::123456789012:role/a/b"},
        {"bucket": "Legacy_Bucket_From_2017"},
        {"region": "auto"},  # an S3-compatible store's region
        {"region": "us-gov-west-1", "endpoint_url": None},
        {"storage_class": "GLACIER_IR", "server_side_encryption": "AES256"},
        {
            "server_side_encryption": "aws:kms",
            "sse_kms_key_id": "arn:aws:kms:eu-west-1:123456789012:key/"
            "1234abcd-12ab-34cd-56ef-1234567890ab",
        },
        {"prefix": "/".join(["p"] * 200)},
    ],
)
def test_values_at_the_limits_pass(settings: dict[str, Any]) -> None:
    check_settings({k: v for k, v in {**GOOD, **settings}.items() if v is not None})


@pytest.mark.parametrize("part", [MIN_PART - 1, MAX_PART + 1])
def test_one_byte_past_a_limit_is_refused(part: int) -> None:
    with pytest.raises(SettingsError, match="multipart_part_size_bytes"):
        check_limits({**GOOD, "multipart_part_size_bytes": part})


def test_the_longest_root_allowed_still_gives_keys_s3_takes() -> None:
    assert endor.MAX_ROOT_BYTES + endor.MAX_KEY_BELOW_ROOT == endor.MAX_KEY_BYTES
    check_limits({**GOOD, "prefix": "p" * 90 + "/" + "q" * (endor.MAX_ROOT_BYTES - 160)})


@pytest.mark.parametrize(
    ("settings", "says"),
    [
        ({"multipart_part_size_bytes": 1 << 20}, "S3 takes parts of 5 MiB to 5 GiB"),
        ({"prefix": "/".join(["exports"] * 80)}, "S3 keys hold at most 1024 bytes"),
    ],
)
def test_connection_test_reports_the_limit_instead_of_ok(
    settings: dict[str, Any], says: str, config: dict[str, Any], tmp_path: Path
) -> None:
    run = run_cli_in_process({**config, **settings}, "", "--test", tmp=tmp_path)
    assert run.returncode == 1
    assert "S3 access OK" not in run.stdout
    assert "Traceback" not in run.stderr
    assert [line for line in run.stderr.splitlines() if says in line], run.stderr


@pytest.mark.parametrize("method", ["upsert", "overwrite"])
def test_a_load_method_that_would_replace_or_delete_is_refused(
    method: str, config: dict[str, Any], bucket: str, tmp_path: Path
) -> None:
    """The SDK offers every target upsert and overwrite; an S3 export only adds objects."""
    messages = '{"type": "STATE", "value": {"bookmarks": {}}}\n'
    run = run_cli_in_process({**config, "load_method": method}, messages, tmp=tmp_path)
    assert run.returncode == 1
    assert "Traceback" not in run.stderr
    assert not run.stdout.strip(), "no state before the settings are right"
    errors = [line for line in run.stderr.splitlines() if "| ERROR" in line]
    assert len(errors) == 1, run.stderr
    assert f"load_method '{method}' is not what this target does" in errors[0]
    assert "append-only" in errors[0]


def test_append_only_is_the_load_method_taken() -> None:
    check_settings({"bucket": "my-bucket", "load_method": "append-only"})
