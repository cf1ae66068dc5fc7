"""The fault proxy forwards S3 calls untouched and injects exactly the faults it is told."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, ConnectionClosedError, EndpointConnectionError

from tests.conftest import S3_TEST_CREDENTIALS
from tests.support.servers import ServerProcess, start_s3_fault_proxy


@pytest.fixture
def proxy(s3_endpoint: str) -> Iterator[ServerProcess]:
    with start_s3_fault_proxy(s3_endpoint) as server:
        yield server


def control(proxy: ServerProcess, method: str, body: Any = None) -> dict[str, Any]:
    path = "/_proxy/faults" if method != "GET" else "/_proxy/stats"
    request = urllib.request.Request(
        proxy.url + path, method=method, data=None if body is None else json.dumps(body).encode()
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def client(endpoint: str) -> Any:
    config = Config(retries={"total_max_attempts": 1, "mode": "standard"})
    return boto3.client("s3", endpoint_url=endpoint, config=config, **S3_TEST_CREDENTIALS)


def test_forwards_puts_with_checksums_unchanged(
    proxy: ServerProcess, s3_client: Any, bucket: str
) -> None:
    client(proxy.url).put_object(
        Bucket=bucket, Key="a/b.txt", Body=b"hello", ChecksumAlgorithm="SHA256"
    )
    assert s3_client.get_object(Bucket=bucket, Key="a/b.txt")["Body"].read() == b"hello"
    assert control(proxy, "GET")["requests"] == {"PUT": 1}


@pytest.mark.parametrize(
    ("fault", "code"), [("500", "InternalError"), ("503", "SlowDown"), ("403", "AccessDenied")]
)
def test_injects_s3_errors_the_number_of_times_asked(
    proxy: ServerProcess, s3_client: Any, bucket: str, fault: str, code: str
) -> None:
    control(proxy, "POST", {"faults": [{"type": fault, "times": 1, "method": "PUT"}]})
    with pytest.raises(ClientError) as failure:
        client(proxy.url).put_object(Bucket=bucket, Key="k", Body=b"x")
    assert failure.value.response["Error"]["Code"] == code
    client(proxy.url).put_object(Bucket=bucket, Key="k", Body=b"x")
    assert control(proxy, "GET")["injected"] == {fault: 1}
    assert s3_client.get_object(Bucket=bucket, Key="k")["Body"].read() == b"x"


def test_reset_drops_the_connection(proxy: ServerProcess, bucket: str) -> None:
    control(proxy, "POST", {"faults": [{"type": "reset", "times": 1}]})
    with pytest.raises((ConnectionClosedError, EndpointConnectionError)):
        client(proxy.url).put_object(Bucket=bucket, Key="k", Body=b"x")
    control(proxy, "DELETE")
    client(proxy.url).put_object(Bucket=bucket, Key="k", Body=b"x")
