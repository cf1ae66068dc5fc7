"""The connection test (``--test``): writes a probe object, says plainly what is wrong."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path
from typing import Any

import boto3

from tests.support.servers import start_local_s3
from tests.test_target.conftest import all_objects, run_cli_in_process, run_target


def assumed_roles(s3_endpoint: str, role_arn: str, external_id: str) -> int:
    """How many STS AssumeRole calls moto recorded for ``role_arn`` with ``external_id``."""
    with urllib.request.urlopen(f"{s3_endpoint}/moto-api/data.json", timeout=10) as response:
        data = json.load(response)
    return sum(
        1
        for role in data.get("sts", {}).get("AssumedRole", [])
        if role.get("role_arn") == role_arn and role.get("external_id") == external_id
    )


def test_probe_writes_an_object_and_says_ok(
    config: dict, s3_client: Any, bucket: str, tmp_path: Path
) -> None:
    run = run_target(config, "", "--test", tmp=tmp_path)
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith(f"S3 access OK: wrote s3://{bucket}/endor/")
    [key] = all_objects(s3_client, bucket)
    assert "/_connection-test/" in key and run.stdout.strip().endswith(key)


def test_probe_reports_a_missing_bucket(config: dict, tmp_path: Path) -> None:
    run = run_target({**config, "bucket": "missing-bucket-probe"}, "", "--test", tmp=tmp_path)
    assert run.returncode == 1
    assert "S3 access FAILED: bucket missing-bucket-probe does not exist" in run.stdout


def test_probe_through_assume_role_with_external_id(config: dict, tmp_path: Path) -> None:
    # A server of its own: moto's /moto-api/data.json answers 500 on the shared
    # server once another test has deleted a bucket under a running target.
    with start_local_s3() as own_s3:
        boto3.client("s3", endpoint_url=own_s3.url, region_name="us-east-1").create_bucket(
            Bucket=config["bucket"]
        )
        settings = {
            "endpoint_url": own_s3.url,
            "role_arn": "arn:aws:iam::123456789012:role/endor-export",
            "external_id": "ext-123",
            "sts_endpoint_url": own_s3.url,
        }
        # The target inherits dummy AWS keys, so the probe alone would pass even if
        # role_arn and external_id were ignored: moto must have seen the AssumeRole.
        before = assumed_roles(own_s3.url, settings["role_arn"], settings["external_id"])
        run = run_cli_in_process({**config, **settings}, "", "--test", tmp=tmp_path)
        assert run.returncode == 0, run.stdout + run.stderr
        assert "S3 access OK" in run.stdout
        assert "ext-123" not in run.stdout + run.stderr
        after = assumed_roles(own_s3.url, settings["role_arn"], settings["external_id"])
    assert after > before, "no STS AssumeRole with the role_arn and external_id was recorded"


def test_probe_through_web_identity(
    config: dict, s3_endpoint: str, bucket: str, tmp_path: Path
) -> None:
    token = tmp_path / "token"
    token.write_text("eyJhbGciOiJSUzI1NiJ9.e30.sig")
    settings = {
        "role_arn": "arn:aws:iam::123456789012:role/endor-export",
        "web_identity_token_file": str(token),
        "sts_endpoint_url": s3_endpoint,
    }
    run = run_cli_in_process({**config, **settings}, "", "--test", tmp=tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "S3 access OK" in run.stdout


def test_probe_names_a_missing_token_file(config: dict, s3_endpoint: str, tmp_path: Path) -> None:
    settings = {
        "role_arn": "arn:aws:iam::123456789012:role/endor-export",
        "web_identity_token_file": str(tmp_path / "absent-token"),
        "sts_endpoint_url": s3_endpoint,
    }
    run = run_cli_in_process({**config, **settings}, "", "--test", tmp=tmp_path)
    assert run.returncode == 1
    assert "S3 access FAILED: web_identity_token_file" in run.stdout
    assert "cannot be read" in run.stdout


def test_security_lake_probe_writes_under_every_source(
    config: dict, s3_client: Any, bucket: str, tmp_path: Path
) -> None:
    """A custom source's role may write only under ext/<source>/: the probe checks each."""
    lake = {**config, "layout": "security-lake", "security_lake_account_id": "123456789012"}
    run = run_cli_in_process(lake, "", "--test", tmp=tmp_path)
    assert run.returncode == 0, run.stderr
    keys = sorted(all_objects(s3_client, bucket))
    assert len(keys) == 6
    assert all(key.startswith("ext/endorlabs-") and "/_connection-test/" in key for key in keys)
