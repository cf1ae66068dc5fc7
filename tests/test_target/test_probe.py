"""The connection test (``--test``): writes a probe object, says plainly what is wrong."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.test_target.conftest import all_objects, run_target


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


def test_probe_through_assume_role_with_external_id(
    config: dict, s3_endpoint: str, s3_client: Any, bucket: str, tmp_path: Path
) -> None:
    settings = {
        "role_arn": "arn:aws:iam::123456789012:role/endor-export",
        "external_id": "ext-123",
        "sts_endpoint_url": s3_endpoint,
    }
    run = run_target({**config, **settings}, "", "--test", tmp=tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "S3 access OK" in run.stdout
    assert "ext-123" not in run.stdout + run.stderr


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
    run = run_target({**config, **settings}, "", "--test", tmp=tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "S3 access OK" in run.stdout


def test_probe_names_a_missing_token_file(config: dict, s3_endpoint: str, tmp_path: Path) -> None:
    settings = {
        "role_arn": "arn:aws:iam::123456789012:role/endor-export",
        "web_identity_token_file": str(tmp_path / "absent-token"),
        "sts_endpoint_url": s3_endpoint,
    }
    run = run_target({**config, **settings}, "", "--test", tmp=tmp_path)
    assert run.returncode == 1
    assert "S3 access FAILED: web_identity_token_file" in run.stdout
    assert "cannot be read" in run.stdout
