"""STATE only after the data is in S3; failures and bad input end in one clear line."""

from __future__ import annotations

import json
import socket
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.test_target.conftest import (
    all_objects,
    assert_one_clear_line,
    audit_log,
    lines,
    record,
    records_in,
    run_cli_in_process,
    run_target,
    schema,
    singer_file,
    start_draining_target,
    state,
)


@pytest.mark.timeout(60)
def test_each_state_line_comes_after_its_records_are_in_s3(
    config: dict, s3_client: Any, bucket: str, tmp_path: Path
) -> None:
    messages = [schema("audit_logs")]
    for n in range(12):
        messages.append(record("audit_logs", audit_log(n)))
        if n % 4 == 3:
            messages.append(state({"upto": n}))
    process = start_draining_target(config, tmp_path, stderr=subprocess.DEVNULL)
    assert process.stdin and process.stdout
    process.stdin.write(lines(*messages))
    process.stdin.close()
    seen = []
    for line in process.stdout:
        upto = json.loads(line)["upto"]
        stored = {
            r["uuid"]
            for key, data in all_objects(s3_client, bucket).items()
            for r in records_in(key, data, tmp_path)
        }
        assert {audit_log(n)["uuid"] for n in range(upto + 1)} <= stored
        seen.append(upto)
    assert process.wait(timeout=60) == 0
    assert sorted(set(seen)) == [3, 7, 11] and seen == sorted(seen)


def test_missing_bucket_stops_with_one_line_and_no_state(
    config: dict, s3_client: Any, tmp_path: Path
) -> None:
    text = lines(schema("audit_logs"), record("audit_logs", audit_log(1)), state({"x": 1}))
    run = run_target({**config, "bucket": "no-such-bucket-here"}, text, tmp=tmp_path)
    assert_one_clear_line(run, "no-such-bucket-here does not exist")
    assert run.stdout == ""


def test_unreachable_endpoint_stops_after_bounded_retries(config: dict, tmp_path: Path) -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    text = lines(schema("audit_logs"), record("audit_logs", audit_log(1)), state({"x": 1}))
    unreachable = {"endpoint_url": f"http://127.0.0.1:{port}", "max_retry_seconds": 2}
    run = run_cli_in_process({**config, **unreachable}, text, tmp=tmp_path)
    assert_one_clear_line(run, "unreachable", "S3 kept failing for", "max_retry_seconds: 2")
    assert run.stdout == ""


@pytest.mark.timeout(60)
def test_failure_after_a_good_batch_keeps_only_the_earlier_state(
    config: dict, s3_client: Any, bucket: str, tmp_path: Path
) -> None:
    # First batch and its STATE go through; then the bucket disappears (waited on
    # by reading the STATE line), so the second batch cannot be written.
    process = start_draining_target(config, tmp_path, stderr=subprocess.PIPE)
    assert process.stdin and process.stdout and process.stderr
    process.stdin.write(
        lines(schema("audit_logs"), record("audit_logs", audit_log(1)), state({"n": 1}))
    )
    process.stdin.write(record("audit_logs", audit_log(2)) + "\n")  # drains batch 1, emits STATE
    process.stdin.flush()
    assert json.loads(process.stdout.readline()) == {"n": 1}
    for key in all_objects(s3_client, bucket):
        s3_client.delete_object(Bucket=bucket, Key=key)
    s3_client.delete_bucket(Bucket=bucket)
    process.stdin.write(lines(state({"n": 2}), record("audit_logs", audit_log(3))))
    process.stdin.close()
    rest, errors = process.stdout.read(), process.stderr.read()
    assert process.wait(timeout=60) == 1
    assert rest == ""
    assert "Traceback" not in errors and "does not exist" in errors


@pytest.mark.parametrize(
    ("fixture", "fragment"),
    [
        ("bad_record_before_schema.singer", "came before that stream's SCHEMA"),
        ("bad_malformed_line.singer", "not valid JSON"),
        ("bad_record_fails_schema.singer", "does not match its SCHEMA"),
    ],
)
def test_bad_input_gets_one_clear_line(
    fixture: str, fragment: str, config: dict, tmp_path: Path
) -> None:
    run = run_cli_in_process(config, singer_file(fixture), tmp=tmp_path)
    assert_one_clear_line(run, fragment)
    assert run.stdout == ""


@pytest.mark.parametrize(
    ("settings", "fragment"),
    [
        ({"sse_kms_key_id": "k"}, "sse_kms_key_id needs server_side_encryption"),
        ({"external_id": "e"}, "external_id needs role_arn"),
        ({"aws_access_key_id": "AKIA"}, "must be set together"),
    ],
)
def test_bad_settings_get_one_clear_line(
    settings: dict, fragment: str, config: dict, tmp_path: Path
) -> None:
    run = run_cli_in_process({**config, **settings}, "", tmp=tmp_path)
    assert_one_clear_line(run, fragment)


def test_null_settings_take_their_defaults(
    config: dict, s3_client: Any, bucket: str, tmp_path: Path
) -> None:
    """An explicit null is "not set" (it was an int(None) traceback)."""
    nulls = ("batch_max_records", "batch_max_age_seconds", "max_attempts", "compression_level")
    text = lines(schema("audit_logs"), *(record("audit_logs", audit_log(n)) for n in range(3)))
    run = run_cli_in_process({**config, **dict.fromkeys(nulls)}, text, tmp=tmp_path)
    assert run.returncode == 0, run.stderr
    [(key, data)] = all_objects(s3_client, bucket).items()
    assert len(records_in(key, data, tmp_path)) == 3


@pytest.mark.parametrize("setting", ["batch_max_records", "batch_size_rows"])
def test_batches_hold_at_most_the_records_set(
    setting: str, config: dict, s3_client: Any, bucket: str, tmp_path: Path
) -> None:
    """batch_size_rows is the SDK's name for batch_max_records; both bound a batch."""
    text = lines(schema("audit_logs"), *(record("audit_logs", audit_log(n)) for n in range(5)))
    run = run_cli_in_process({**config, setting: 2}, text, tmp=tmp_path)
    assert run.returncode == 0, run.stderr
    sizes = sorted(
        len(records_in(key, data, tmp_path)) for key, data in all_objects(s3_client, bucket).items()
    )
    assert sizes == [1, 2, 2]


def test_validate_records_false_writes_a_record_its_schema_refuses(
    config: dict, s3_client: Any, bucket: str, tmp_path: Path
) -> None:
    """The way out every validation error names."""
    bad = {**audit_log(1), "uuid": 12345}
    text = lines(schema("audit_logs"), record("audit_logs", bad))
    refused = run_cli_in_process(config, text, tmp=tmp_path)
    assert refused.returncode == 1
    run = run_cli_in_process({**config, "validate_records": False}, text, tmp=tmp_path)
    assert run.returncode == 0, run.stderr
    [(key, data)] = all_objects(s3_client, bucket).items()
    assert records_in(key, data, tmp_path) == [bad]


def test_secrets_never_reach_the_output(config: dict, tmp_path: Path) -> None:
    secret = "SUPER-SECRET-VALUE-123"
    settings = {"aws_access_key_id": "AKIAEXAMPLE", "aws_secret_access_key": secret}
    text = lines(schema("audit_logs"), record("audit_logs", audit_log(1)))
    run = run_cli_in_process(
        {**config, **settings, "bucket": "no-such-bucket-2"}, text, tmp=tmp_path
    )
    assert run.returncode == 1
    assert secret not in run.stderr + run.stdout
