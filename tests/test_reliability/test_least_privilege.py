"""A whole export with credentials whose only permission is s3:PutObject on bucket/prefix/*.

moto runs with IAM enforcement (tests/local_s3.py --iam): its first calls are
unauthenticated set-up (bucket, users, policies); after that every request must
be allowed by the signing user's policy.  A second user may also read, and is
used only to check what the export wrote.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest

from tests.conftest import S3_TEST_CREDENTIALS
from tests.support.servers import ServerProcess, start_local_s3
from tests.test_reliability.conftest import campaign_tap_config, campaign_target_config
from tests.test_reliability.ground import expected_export, exported, missing_from
from tests.test_reliability.harness import Pipeline

BUCKET = "least-privilege"
REGION = S3_TEST_CREDENTIALS["region_name"]
SETUP_CALLS = 1 + 2 * 3
# Issue 23: the export from 20 days back (421 audit logs, 15 scans, every stream) writes
# every kind of object the prefix must take, for half the lines of START_DATE's 45 days.
SINCE = (datetime.now(UTC) - timedelta(days=20)).strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture
def iam_s3() -> Iterator[ServerProcess]:
    # Exactly the set-up calls below run unauthenticated: a bucket, and per user
    # create_user, put_user_policy and create_access_key.
    with start_local_s3("--iam", "--iam-setup-calls", str(SETUP_CALLS)) as server:
        yield server


def user_with_policy(iam: Any, name: str, statement: dict[str, Any]) -> dict[str, str]:
    iam.create_user(UserName=name)
    iam.put_user_policy(
        UserName=name,
        PolicyName=f"{name}-policy",
        PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [statement]}),
    )
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return {
        "aws_access_key_id": key["AccessKeyId"],
        "aws_secret_access_key": key["SecretAccessKey"],
    }


def test_put_object_on_the_prefix_is_all_the_target_needs(
    tmp_path: Path, emulator: ServerProcess, iam_s3: ServerProcess
) -> None:
    setup = {"endpoint_url": iam_s3.url, **S3_TEST_CREDENTIALS}
    boto3.client("s3", **setup).create_bucket(Bucket=BUCKET)
    iam = boto3.client("iam", **setup)
    writer = user_with_policy(
        iam,
        "exporter",
        {"Effect": "Allow", "Action": "s3:PutObject", "Resource": f"arn:aws:s3:::{BUCKET}/endor/*"},
    )
    reader = user_with_policy(
        iam, "auditor", {"Effect": "Allow", "Action": "s3:*", "Resource": "*"}
    )
    reader_client = boto3.client("s3", endpoint_url=iam_s3.url, region_name=REGION, **reader)
    writer_client = boto3.client("s3", endpoint_url=iam_s3.url, region_name=REGION, **writer)
    with pytest.raises(writer_client.exceptions.ClientError, match="AccessDenied"):
        writer_client.list_objects_v2(Bucket=BUCKET)  # the policy is really enforced

    target = {**campaign_target_config(iam_s3.url, BUCKET, batch_max_age_seconds=5), **writer}
    tap = campaign_tap_config(emulator, start_date=SINCE)
    result = Pipeline(tmp_path, tap, target).run()

    assert result.target_code == 0, result.target_stderr[-3000:]
    found = exported(reader_client, BUCKET)
    expected = expected_export(emulator, SINCE)
    assert expected.audit_uuids and expected.scan_findings
    assert missing_from(expected, found) == []

    # Outside the prefix the same credentials are refused, with a line that says why.
    denied = Pipeline(tmp_path / "other-prefix", tap, {**target, "prefix": "other"}).run()
    assert denied.target_code == 1
    assert "s3:PutObject is denied" in denied.target_stderr.strip().splitlines()[-1]
