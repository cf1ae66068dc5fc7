"""The fault proxy forwards S3 calls untouched and injects exactly the faults it is told."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, ConnectionClosedError, EndpointConnectionError

from tests.conftest import S3_TEST_CREDENTIALS
from tests.support.emulator_client import call_json
from tests.support.servers import ServerProcess


def client(endpoint: str) -> Any:
    config = Config(retries={"total_max_attempts": 1, "mode": "standard"})
    return boto3.client("s3", endpoint_url=endpoint, config=config, **S3_TEST_CREDENTIALS)


def test_forwards_puts_with_checksums_unchanged(
    s3_proxy: ServerProcess, s3_client: Any, bucket: str
) -> None:
    client(s3_proxy.url).put_object(
        Bucket=bucket, Key="a/b.txt", Body=b"hello", ChecksumAlgorithm="SHA256"
    )
    assert s3_client.get_object(Bucket=bucket, Key="a/b.txt")["Body"].read() == b"hello"
    assert call_json(s3_proxy, "GET", "/_proxy/stats")["requests"] == {"PUT": 1}


@pytest.mark.parametrize(
    ("fault", "code"), [("500", "InternalError"), ("503", "SlowDown"), ("403", "AccessDenied")]
)
def test_injects_s3_errors_the_number_of_times_asked(
    s3_proxy: ServerProcess, s3_client: Any, bucket: str, fault: str, code: str
) -> None:
    call_json(
        s3_proxy,
        "POST",
        "/_proxy/faults",
        {"faults": [{"type": fault, "times": 1, "method": "PUT"}]},
    )
    with pytest.raises(ClientError) as failure:
        client(s3_proxy.url).put_object(Bucket=bucket, Key="k", Body=b"x")
    assert failure.value.response["Error"]["Code"] == code
    client(s3_proxy.url).put_object(Bucket=bucket, Key="k", Body=b"x")
    assert call_json(s3_proxy, "GET", "/_proxy/stats")["injected"] == {fault: 1}
    assert s3_client.get_object(Bucket=bucket, Key="k")["Body"].read() == b"x"


def test_reset_drops_the_connection(s3_proxy: ServerProcess, bucket: str) -> None:
    call_json(s3_proxy, "POST", "/_proxy/faults", {"faults": [{"type": "reset", "times": 1}]})
    with pytest.raises((ConnectionClosedError, EndpointConnectionError)):
        client(s3_proxy.url).put_object(Bucket=bucket, Key="k", Body=b"x")
    call_json(s3_proxy, "DELETE", "/_proxy/faults")
    client(s3_proxy.url).put_object(Bucket=bucket, Key="k", Body=b"x")
