"""Read back what the target wrote: keys, sizes and record counts of objects.

Shared by the demo (to print what a run wrote) and by the tests (to check it):
one place knows how to open each format and compression.
"""

from __future__ import annotations

import gzip
import io
import json
import zipfile
from dataclasses import dataclass
from typing import Any

from target_s3_endor.naming import PROOF_FOLDER


@dataclass(frozen=True)
class StoredObject:
    """One object in the bucket and the records it holds."""

    key: str
    size: int
    records: list[dict[str, Any]]


def decode_member(name: str, data: bytes) -> list[dict[str, Any]]:
    """Records in one member: a JSON array, JSON lines, or SARIF results."""
    if name.endswith(".jsonl"):
        return [json.loads(line) for line in data.splitlines() if line.strip()]
    document = json.loads(data)
    if name.endswith(".sarif"):
        return [result for run in document["runs"] for result in run.get("results", [])]
    if isinstance(document, list):
        return document
    raise ValueError(f"{name}: expected a JSON array")


def member_name(key: str, body: bytes) -> str:
    """The name whose suffix tells the format of object ``key``'s one member: the
    zip member's own name, else the key without ``.gz``."""
    if key.endswith(".zip"):
        with zipfile.ZipFile(io.BytesIO(body)) as archive:
            [name] = archive.namelist()
        return name
    return key.removesuffix(".gz")


def decode_object(key: str, body: bytes) -> list[dict[str, Any]]:
    """Records in an object, whatever its compression (told by the key's suffix)."""
    if key.endswith(".zip"):
        with zipfile.ZipFile(io.BytesIO(body)) as archive:
            return [
                record
                for member in archive.namelist()
                for record in decode_member(member, archive.read(member))
            ]
    if key.endswith(".gz"):
        return decode_member(member_name(key, body), gzip.decompress(body))
    return decode_member(member_name(key, body), body)


def list_objects(
    client: Any, bucket: str, prefix: str = "", *, proofs: bool = False
) -> list[StoredObject]:
    """Every data object under a prefix with its decoded records, in key order.

    The completeness proof (``_reconciliation/``, issue 19) is not data: it is
    left out unless ``proofs`` is true, so a test comparing what the bucket holds
    with what the API holds sees records only.
    """
    objects = []
    paginator = client.get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
        for entry in page.get("Contents", []):
            if not proofs and f"/{PROOF_FOLDER}/" in entry["Key"]:
                continue
            body = client.get_object(Bucket=bucket, Key=entry["Key"])["Body"].read()
            objects.append(
                StoredObject(entry["Key"], entry["Size"], decode_object(entry["Key"], body))
            )
    return sorted(objects, key=lambda stored: stored.key)
