"""Checksums, multipart, SSE and storage class, as the local S3 server records them."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path
from typing import Any

import pytest

from tests.test_target.conftest import (
    all_objects,
    audit_log,
    lines,
    record,
    records_in,
    run_cli_in_process,
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
    # AWS's default; with endpoint_url (as here) it must be asked for.
    sha256 = {**config, "request_checksum_calculation": "when_supported"}
    assert run_cli_in_process(sha256, text, tmp=tmp_path).returncode == 0
    objects = all_objects(s3_client, bucket)
    assert len(objects) == 3
    for key, data in objects.items():
        head = s3_client.head_object(Bucket=bucket, Key=key, ChecksumMode="ENABLED")
        assert head["ChecksumSHA256"] == sha256_b64(data)


def test_with_endpoint_url_uploads_carry_content_md5_and_no_flexible_checksum(
    config: dict, s3_client: Any, bucket: str, tmp_path: Path
) -> None:
    text = lines(schema("audit_logs"), record("audit_logs", audit_log(1)))
    assert run_cli_in_process(config, text, tmp=tmp_path).returncode == 0
    [(key, data)] = all_objects(s3_client, bucket).items()
    head = s3_client.head_object(Bucket=bucket, Key=key, ChecksumMode="ENABLED")
    assert "ChecksumSHA256" not in head and "ChecksumCRC32" not in head
    assert head["ETag"].strip('"') == hashlib.md5(data, usedforsecurity=False).hexdigest()


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
    run = run_cli_in_process({**config, **settings}, text, tmp=tmp_path)
    assert run.returncode == 0, run.stderr
    [key] = all_objects(s3_client, bucket)
    head = s3_client.head_object(Bucket=bucket, Key=key)
    for name, value in expected.items():
        assert str(head[name]).endswith(value), (name, head.get(name))


PART = 5 << 20  # S3's smallest part, which the local S3 enforces as S3 does


def test_large_objects_go_up_in_multipart_with_part_checksums(
    config: dict, s3_client: Any, bucket: str, tmp_path: Path
) -> None:
    recs = [{**audit_log(n), "blob": f"{n:08d}" * 128} for n in range(12_000)]  # ~14 MB
    text = lines(schema("audit_logs"), *(record("audit_logs", r) for r in recs))
    settings = {
        "compression": "none",
        "batch_max_records": 20_000,
        "multipart_threshold_bytes": 6 << 20,
        "multipart_part_size_bytes": PART,
        "request_checksum_calculation": "when_supported",
    }
    run = run_cli_in_process({**config, **settings}, text, tmp=tmp_path)
    assert run.returncode == 0, run.stderr
    [(key, data)] = all_objects(s3_client, bucket).items()
    head = s3_client.head_object(Bucket=bucket, Key=key, ChecksumMode="ENABLED")
    parts = -(-len(data) // PART)
    assert head["ETag"].strip('"').endswith(f"-{parts}") and parts >= 3
    # S3's checksum of a multipart object: SHA-256 over the parts' SHA-256 digests
    digests = b"".join(
        hashlib.sha256(data[i : i + PART]).digest() for i in range(0, len(data), PART)
    )
    assert head["ChecksumSHA256"].split("-")[0] == sha256_b64(digests)
    assert records_in(key, data, tmp_path) == recs
