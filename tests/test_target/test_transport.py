"""Checksums, multipart, SSE and storage class, as the local S3 server records them."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from tests.conftest import S3_TEST_CREDENTIALS
from tests.support.servers import ServerProcess, start_local_s3
from tests.test_target.conftest import (
    all_objects,
    audit_log,
    lines,
    record,
    records_in,
    run_target,
    schema,
)


def sha256_b64(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


def test_every_upload_carries_a_sha256_checksum(
    config: dict, s3_client: Any, bucket: str, tmp_path: Path
) -> None:
    text = lines(
        schema("audit_logs"), *(record("audit_logs", audit_log(n, day=1 + n % 3)) for n in range(9))
    )
    assert run_target(config, text, tmp=tmp_path).returncode == 0
    objects = all_objects(s3_client, bucket)
    assert len(objects) == 3
    for key, data in objects.items():
        head = s3_client.head_object(Bucket=bucket, Key=key, ChecksumMode="ENABLED")
        assert head["ChecksumSHA256"] == sha256_b64(data)


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        ({"server_side_encryption": "AES256"}, {"ServerSideEncryption": "AES256"}),
        (
            {"server_side_encryption": "aws:kms", "sse_kms_key_id": "alias/endor-export"},
            {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": "alias/endor-export"},
        ),
        ({"storage_class": "STANDARD_IA"}, {"StorageClass": "STANDARD_IA"}),
    ],
)
def test_sse_and_storage_class_are_sent(
    settings: dict, expected: dict, *, config: dict, s3_client: Any, bucket: str, tmp_path: Path
) -> None:
    text = lines(schema("audit_logs"), record("audit_logs", audit_log(1)))
    run = run_target({**config, **settings}, text, tmp=tmp_path)
    assert run.returncode == 0, run.stderr
    [key] = all_objects(s3_client, bucket)
    head = s3_client.head_object(Bucket=bucket, Key=key)
    for name, value in expected.items():
        assert str(head[name]).endswith(value), (name, head.get(name))


@pytest.fixture(scope="module")
def small_part_s3() -> Iterator[ServerProcess]:
    """A local S3 that accepts 64 KiB parts, so multipart is testable with small data."""
    with start_local_s3(env={"S3_UPLOAD_PART_MIN_SIZE": "65536"}) as server:
        yield server


def test_large_objects_go_up_in_multipart_with_part_checksums(
    small_part_s3: ServerProcess, tmp_path: Path
) -> None:
    client = boto3.client("s3", endpoint_url=small_part_s3.url, **S3_TEST_CREDENTIALS)
    client.create_bucket(Bucket="multipart-test")
    recs = [audit_log(n) for n in range(1500)]  # ~360 KB uncompressed
    text = lines(schema("audit_logs"), *(record("audit_logs", r) for r in recs))
    config = {
        "bucket": "multipart-test",
        "endpoint_url": small_part_s3.url,
        "compression": "none",
        "multipart_threshold_bytes": 100_000,
        "multipart_part_size_bytes": 65_536,
    }
    run = run_target(config, text, tmp=tmp_path)
    assert run.returncode == 0, run.stderr
    [(key, data)] = all_objects(client, "multipart-test").items()
    head = client.head_object(Bucket="multipart-test", Key=key, ChecksumMode="ENABLED")
    parts = -(-len(data) // 65_536)
    assert head["ETag"].strip('"').endswith(f"-{parts}") and parts >= 5
    # S3's checksum of a multipart object: SHA-256 over the parts' SHA-256 digests
    digests = b"".join(
        hashlib.sha256(data[i : i + 65_536]).digest() for i in range(0, len(data), 65_536)
    )
    assert head["ChecksumSHA256"].split("-")[0] == sha256_b64(digests)
    assert records_in(key, data, tmp_path) == recs
