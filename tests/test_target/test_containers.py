"""The zip and gzip writers (containers.py) write what zipfile and gzip write, byte for byte."""

from __future__ import annotations

import gzip
import io
import os
import subprocess
import zipfile
import zlib
from datetime import UTC, datetime
from pathlib import Path

import pytest

from target_s3_endor.formats import containers
from target_s3_endor.formats.containers import crc32_keeping_gil, open_member

MODIFIED = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)
PAYLOADS = {
    "empty": [],
    "one line": [b'{"uuid":"a"}\n'],
    "many chunks": [os.urandom(3000) + b"x" * 200_000 for _ in range(5)],
}


def ours(compression: str, name: str, chunks: list[bytes], level: int, zip64: bool) -> bytes:
    out = io.BytesIO()
    member = open_member(out, compression, name, MODIFIED, level, zip64=zip64)
    for chunk in chunks:
        member.write(chunk)
    member.close()
    member.close()  # a second close changes nothing
    return out.getvalue()


def zipfile_writes(name: str, chunks: list[bytes], level: int, zip64: bool) -> bytes:
    out = io.BytesIO()
    info = zipfile.ZipInfo(name, date_time=MODIFIED.timetuple()[:6])
    info.compress_type = zipfile.ZIP_DEFLATED
    info._compresslevel = level  # type: ignore[attr-defined]
    info.external_attr = 0o644 << 16
    with (
        zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive,
        archive.open(info, "w", force_zip64=zip64) as member,
    ):
        for chunk in chunks:
            member.write(chunk)
    return out.getvalue()


@pytest.mark.parametrize("payload", PAYLOADS)
@pytest.mark.parametrize("name", ["audit_logs.json", "fïndings-名前.sarif"])
@pytest.mark.parametrize("zip64", [False, True])
def test_zip_is_what_zipfile_writes(payload: str, name: str, zip64: bool, tmp_path: Path) -> None:
    chunks = PAYLOADS[payload]
    data = ours("zip", name, chunks, 3, zip64)
    assert data == zipfile_writes(name, chunks, 3, zip64)
    path = tmp_path / "x.zip"
    path.write_bytes(data)
    subprocess.run(["unzip", "-tq", str(path)], check=True, capture_output=True)
    assert zipfile.ZipFile(io.BytesIO(data)).read(name) == b"".join(chunks)


@pytest.mark.parametrize("limit", [100, 5_000, 300_000])
def test_zip64_fields_past_the_limit_are_what_zipfile_writes(
    limit: int, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The ZIP64 branches (sizes and directory past 2 GiB) with the limit made small.

    Both writers read the limit at call time, so lowering it in both exercises
    the central directory's ZIP64 field and the ZIP64 end records cheaply.
    """
    monkeypatch.setattr(containers, "ZIP64_LIMIT", limit)
    monkeypatch.setattr(zipfile, "ZIP64_LIMIT", limit)
    chunks = PAYLOADS["many chunks"]
    data = ours("zip", "audit_logs.json", chunks, 3, True)
    assert data == zipfile_writes("audit_logs.json", chunks, 3, True)
    path = tmp_path / "x.zip"
    path.write_bytes(data)
    subprocess.run(["unzip", "-tq", str(path)], check=True, capture_output=True)


@pytest.mark.parametrize("payload", PAYLOADS)
@pytest.mark.parametrize("level", [1, 3, 9])
def test_gzip_is_what_gzip_writes(payload: str, level: int) -> None:
    chunks = PAYLOADS[payload]
    data = ours("gzip", "audit_logs.json", chunks, level, False)
    reference = io.BytesIO()
    with gzip.GzipFile("audit_logs.json", "wb", level, reference, mtime=0) as stream:
        for chunk in chunks:
            stream.write(chunk)
    assert data == reference.getvalue()
    assert gzip.decompress(data) == b"".join(chunks)


def test_no_compression_writes_the_bytes_as_they_are() -> None:
    chunks = PAYLOADS["many chunks"]
    assert ours("none", "audit_logs.json", chunks, 3, False) == b"".join(chunks)


@pytest.mark.parametrize("size", [0, 1, 4096, 4097, 5120, 5121, 100_003])
def test_crc_in_slices_equals_zlib_crc32(size: int) -> None:
    data = os.urandom(size)
    assert crc32_keeping_gil(data) == zlib.crc32(data)
    assert crc32_keeping_gil(data, 12345) == zlib.crc32(data, 12345)
