"""Issue 21.3: the target on a second S3 implementation, s3rver (npm), besides moto.

S3-compatible stores differ from AWS where moto follows AWS: since boto3 1.36
every request carries a flexible checksum by default, which several stores refuse.
With ``endpoint_url`` the target defaults to botocore's ``when_required`` and sends
``Content-MD5`` instead; these runs show whole objects, single and multipart, on
a store that is not moto.  s3rver is installed by ``make s3rver`` (tests/.npm) and
started like moto, as a child process announcing ``LISTENING <url>``.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from tests.s3_listing import list_objects
from tests.support.servers import S3RVER_ACCESS_KEY, ServerProcess, start_s3rver
from tests.test_target.conftest import (
    audit_log,
    lines,
    record,
    run_cli_in_process,
    schema,
    state,
)

S3RVER_CREDENTIALS = {
    "aws_access_key_id": S3RVER_ACCESS_KEY,
    "aws_secret_access_key": S3RVER_ACCESS_KEY,
}


@pytest.fixture(scope="module")
def s3rver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with start_s3rver(tmp_path_factory.mktemp("s3rver")) as server:
        yield server


@pytest.fixture
def s3rver_client(s3rver: ServerProcess) -> Any:
    return boto3.client(
        "s3", endpoint_url=s3rver.url, region_name="us-east-1", **S3RVER_CREDENTIALS
    )


@pytest.fixture
def s3rver_config(s3rver: ServerProcess, s3rver_client: Any) -> dict[str, Any]:
    bucket = f"test-{uuid.uuid4().hex[:20]}"
    s3rver_client.create_bucket(Bucket=bucket)
    return {
        "bucket": bucket,
        "endpoint_url": s3rver.url,
        "region": "us-east-1",
        "max_attempts": 2,
        "max_retry_seconds": 0,
        **S3RVER_CREDENTIALS,
    }


def test_an_export_to_s3rver_is_whole_with_content_md5(
    s3rver_config: dict[str, Any], s3rver_client: Any, tmp_path: Path
) -> None:
    records = [audit_log(n, day=1 + n % 2) for n in range(20)]
    text = lines(
        schema("audit_logs"), *(record("audit_logs", r) for r in records), state({"n": 20})
    )
    run = run_cli_in_process(s3rver_config, text, tmp=tmp_path)

    assert run.returncode == 0, run.stderr[-3000:]
    assert run.states == [{"n": 20}]
    stored = list_objects(s3rver_client, s3rver_config["bucket"])
    assert len(stored) == 2
    assert sorted((r for s in stored for r in s.records), key=lambda r: r["uuid"]) == records
    for item in stored:
        body = s3rver_client.get_object(Bucket=s3rver_config["bucket"], Key=item.key)
        data = body["Body"].read()
        assert body["ETag"].strip('"') == hashlib.md5(data, usedforsecurity=False).hexdigest()


def test_a_multipart_export_to_s3rver_is_whole(
    s3rver_config: dict[str, Any], s3rver_client: Any, tmp_path: Path
) -> None:
    records = [{**audit_log(n), "blob": f"{n:08d}" * 80} for n in range(9_000)]  # ~7 MB
    settings = {
        "compression": "none",
        "batch_max_records": 20_000,
        "multipart_threshold_bytes": 6 << 20,
        "multipart_part_size_bytes": 5 << 20,
    }
    text = lines(schema("audit_logs"), *(record("audit_logs", r) for r in records))
    run = run_cli_in_process({**s3rver_config, **settings}, text, tmp=tmp_path)

    assert run.returncode == 0, run.stderr[-3000:]
    [stored] = list_objects(s3rver_client, s3rver_config["bucket"])
    assert stored.records == records


def test_the_connection_test_passes_on_s3rver(
    s3rver_config: dict[str, Any], tmp_path: Path
) -> None:
    run = run_cli_in_process(s3rver_config, "", "--test", tmp=tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr[-2000:]
    assert "S3 access OK" in run.stdout
