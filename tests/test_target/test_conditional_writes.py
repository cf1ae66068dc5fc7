"""Conditional writes: an upload retried after a slow answer stores one copy (issue 20).

botocore retries a request whose answer came later than ``read_timeout_seconds``;
the first attempt may have stored the object already.  Every upload carries
``If-None-Match: *`` (PutObject and CompleteMultipartUpload), so the retry gets
412 and counts as done.  Checked against the local S3 (moto's server honours the
header) with bucket versioning on, so a second copy would show as a second version.
"""

from __future__ import annotations

import io
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from target_s3_endor.settings.model import TargetSettings
from target_s3_endor.storage.transport import S3Writer
from tests.support.emulator_client import call_json
from tests.support.servers import ServerProcess
from tests.test_target.conftest import (
    all_objects,
    as_exported,
    audit_log,
    finding,
    lines,
    record,
    records_in,
    run_cli_in_process,
    run_in_process,
    schema,
    state,
)


@pytest.fixture
def versioned(s3_client: Any, bucket: str) -> str:
    s3_client.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    return bucket


def versions_per_key(s3_client: Any, bucket: str) -> Counter[str]:
    counts: Counter[str] = Counter()
    for page in s3_client.get_paginator("list_object_versions").paginate(Bucket=bucket):
        for version in page.get("Versions", []):
            counts[version["Key"]] += 1
    return counts


def audit_logs_input(count: int) -> str:
    return lines(
        schema("audit_logs"),
        *(record("audit_logs", audit_log(n, day=1 + n % 3)) for n in range(count)),
        state({"n": count}),
    )


def test_a_put_retried_after_a_slow_answer_stores_one_copy(
    config: dict[str, Any],
    s3_client: Any,
    versioned: str,
    s3_proxy: ServerProcess,
    tmp_path: Path,
) -> None:
    # Found in review (issue 20): with 30% of answers slower than read_timeout_seconds,
    # 6 of 23 batch keys were written twice (botocore's retry stored a second copy).
    call_json(
        s3_proxy,
        "POST",
        "/_proxy/faults",
        {"faults": [{"type": "slow", "rate": 0.3, "method": "PUT"}], "seed": 3, "slow_delay": 0.8},
    )
    config = {
        **config,
        "endpoint_url": s3_proxy.url,
        "batch_max_records": 5,
        "read_timeout_seconds": 0.3,
        "max_attempts": 8,
    }
    run_in_process(config, audit_logs_input(40))

    stats = call_json(s3_proxy, "GET", "/_proxy/stats")
    versions = versions_per_key(s3_client, versioned)
    assert stats["injected"].get("slow", 0) >= 3, stats
    assert stats["requests"]["PUT"] > len(versions)  # retries did happen
    assert {key: n for key, n in versions.items() if n != 1} == {}
    held = [
        r
        for key, body in all_objects(s3_client, versioned).items()
        for r in records_in(key, body, tmp_path)
    ]
    assert sorted(r["uuid"] for r in held) == sorted(f"audit-{n:05d}" for n in range(40))


def test_a_scan_resent_by_a_later_run_replaces_its_object(
    config: dict[str, Any], s3_client: Any, versioned: str, tmp_path: Path
) -> None:
    # A scan open at the end of a run is written as it stands; the next run sends it
    # again, whole: its fixed key already holds an object, and the new one replaces it.
    scan = [finding(n, "scan-again", last=n == 3) for n in range(4)]
    run_in_process(config, lines(schema("findings"), *(record("findings", f) for f in scan[:2])))
    run_in_process(config, lines(schema("findings"), *(record("findings", f) for f in scan)))
    [(key, body)] = all_objects(s3_client, versioned).items()
    assert records_in(key, body, tmp_path) == [as_exported(f) for f in scan]
    assert versions_per_key(s3_client, versioned) == {key: 2}


def test_multipart_uploads_complete_conditionally_and_replace_an_older_object(
    config: dict[str, Any], s3_client: Any, versioned: str
) -> None:
    config = {**config, "multipart_threshold_bytes": 1}
    S3Writer(TargetSettings.from_config(config)).put(
        "k/multi.bin", io.BytesIO(b"first" * 1000), "application/octet-stream"
    )
    writer = S3Writer(TargetSettings.from_config(config))
    writer.put("k/multi.bin", io.BytesIO(b"second" * 1000), "application/octet-stream")
    body = s3_client.get_object(Bucket=versioned, Key="k/multi.bin")["Body"].read()
    assert body == b"second" * 1000
    assert versions_per_key(s3_client, versioned) == {"k/multi.bin": 2}
    assert writer.conditional  # moto's server knows If-None-Match


def test_a_store_without_conditional_writes_gets_plain_uploads(
    config: dict[str, Any], s3_client: Any, bucket: str, s3_proxy: ServerProcess, tmp_path: Path
) -> None:
    call_json(s3_proxy, "POST", "/_proxy/faults", {"faults": [{"type": "501", "times": 1}]})
    config = {**config, "endpoint_url": s3_proxy.url, "batch_max_records": 10}
    run = run_cli_in_process(config, audit_logs_input(30), tmp=tmp_path)
    assert run.returncode == 0, run.stderr
    assert run.stderr.count("does not support conditional writes") == 1
    held = [
        r
        for key, body in all_objects(s3_client, bucket).items()
        for r in records_in(key, body, tmp_path)
    ]
    assert len(held) == 30
