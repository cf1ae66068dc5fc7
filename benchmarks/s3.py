"""The local S3 as the benchmarks use it: fresh buckets, and counting what a contender wrote.

A contender that exits 0 but uploads nothing would look fast; every run is
therefore checked by reading back its objects and counting the records in them.
"""

from __future__ import annotations

import gzip
import io
import zipfile
from dataclasses import dataclass
from typing import Any

import boto3
import msgspec

REGION = "us-east-1"
ACCESS_KEY = "testing"
SECRET_KEY = "testing-secret"


@dataclass
class Output:
    """What a contender left in its bucket."""

    objects: int
    records: int


def client(endpoint_url: str) -> Any:
    """A boto3 S3 client for the local S3."""
    return boto3.client(
        "s3",
        endpoint_url=endpoint_url,
        region_name=REGION,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
    )


def fresh_bucket(s3: Any, name: str) -> str:
    """Create ``name`` (emptying it if it exists) and return it."""
    try:
        s3.create_bucket(Bucket=name)
    except s3.exceptions.BucketAlreadyOwnedByYou:
        empty_bucket(s3, name)
    return name


def _keys(s3: Any, bucket: str) -> list[tuple[str, int]]:
    keys: list[tuple[str, int]] = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        keys.extend((item["Key"], item["Size"]) for item in page.get("Contents", []))
    return keys


def empty_bucket(s3: Any, bucket: str) -> None:
    """Delete every object, so the local S3 does not hold gigabytes between runs."""
    for key, _ in _keys(s3, bucket):
        s3.delete_object(Bucket=bucket, Key=key)


def _records_in(name: str, data: bytes) -> int:
    """Count records in one decompressed document: SARIF results, a JSON array, or JSON lines."""
    stripped = data.lstrip()
    if name.endswith(".sarif") or stripped.startswith(b'{"$schema"') or b'"runs"' in data[:4096]:
        document = msgspec.json.decode(data)
        return sum(len(run.get("results", [])) for run in document.get("runs", []))
    if stripped.startswith(b"["):
        return len(msgspec.json.decode(data))
    return sum(1 for line in data.splitlines() if line.strip())


def count_output(s3: Any, bucket: str) -> Output:
    """Download every object in ``bucket`` and count the records inside (zip, gzip or plain)."""
    records = 0
    keys = _keys(s3, bucket)
    for key, _ in keys:
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        if key.endswith(".zip") or body[:4] == b"PK\x03\x04":
            with zipfile.ZipFile(io.BytesIO(body)) as archive:
                for member in archive.namelist():
                    records += _records_in(member, archive.read(member))
        elif key.endswith(".gz") or body[:2] == b"\x1f\x8b":
            records += _records_in(key.removesuffix(".gz"), gzip.decompress(body))
        else:
            records += _records_in(key, body)
    return Output(len(keys), records)
