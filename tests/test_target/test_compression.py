"""Compression while records arrive (streaming.py) and the compression_level setting."""

from __future__ import annotations

import gzip
import io
import json
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from target_s3_endor.batching.pending import SpooledObject
from target_s3_endor.batching.spool import COPY_CHUNK, Spool
from target_s3_endor.batching.streaming import (
    CHUNK_BYTES,
    MAX_STREAMING_OBJECTS,
    BackgroundCompressor,
    StreamingObject,
)
from target_s3_endor.formats.encoding import ObjectFormat, encode_record, write_object
from tests.s3_listing import decode_member
from tests.test_target.conftest import (
    all_objects,
    assert_one_clear_line,
    audit_log,
    lines,
    open_with_tools,
    record,
    records_in,
    run_cli_in_process,
    schema,
)

FIRST_TIME = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)


def member_bytes(data: bytes, compression: str) -> bytes:
    if compression == "zip":
        archive = zipfile.ZipFile(io.BytesIO(data))
        [name] = archive.namelist()
        return archive.read(name)
    if compression == "gzip":
        return gzip.decompress(data)
    return data


@pytest.mark.parametrize("fmt", ["json", "jsonl"])
@pytest.mark.parametrize("compression", ["zip", "gzip", "none"])
@pytest.mark.parametrize("count", [1, 3000])  # 3000 records: several chunks
def test_streamed_object_holds_what_the_drain_time_encoder_writes(
    fmt: str, compression: str, count: int, tmp_path: Path
) -> None:
    object_format = ObjectFormat(fmt, compression)
    encoded = [encode_record(audit_log(n)) for n in range(count)]
    assert count == 1 or sum(map(len, encoded)) > 2 * CHUNK_BYTES
    streamed = StreamingObject(
        FIRST_TIME,
        object_format,
        object_format.member_name("audit_logs"),
        compressor=BackgroundCompressor(),
        level=6,
        spool_dir=str(tmp_path),
        zip64=False,
    )
    spool = Spool(FIRST_TIME, str(tmp_path))
    for line in encoded:
        streamed.append(line)
        spool.append(line)
    body = streamed.finish()
    reference = write_object(spool, object_format, object_format.member_name("audit_logs"))
    ours = member_bytes(body.read(), compression)
    assert ours == member_bytes(reference.read(), compression)
    got = decode_member(object_format.member_name("audit_logs"), ours)
    assert [r["uuid"] for r in got] == [f"audit-{n:05d}" for n in range(count)]
    streamed.close()
    spool.close()
    assert streamed.records == count and body.closed


@pytest.mark.parametrize("compression", ["zip", "gzip"])
def test_compression_level_trades_size_for_speed(
    compression: str, config: dict, s3_client: Any, bucket: str, tmp_path: Path
) -> None:
    text = lines(schema("audit_logs"), *(record("audit_logs", audit_log(n)) for n in range(2000)))
    sizes = {}
    for level in (1, 9):
        run = run_cli_in_process(
            {
                **config,
                "compression": compression,
                "compression_level": level,
                "prefix": f"l{level}",
            },
            text,
            tmp=tmp_path,
        )
        assert run.returncode == 0, run.stderr
        [(key, data)] = [
            (k, v) for k, v in all_objects(s3_client, bucket).items() if k.startswith(f"l{level}/")
        ]
        recs = records_in(key, data, tmp_path)
        assert [r["uuid"] for r in recs] == [f"audit-{n:05d}" for n in range(2000)]
        sizes[level] = len(data)
    assert sizes[9] < sizes[1]


@pytest.mark.parametrize("level", [0, 10, "fast"])
def test_bad_compression_level_gets_one_clear_line(
    level: Any, config: dict, tmp_path: Path
) -> None:
    run = run_cli_in_process({**config, "compression_level": level}, "", tmp=tmp_path)
    assert_one_clear_line(run, "compression_level")


def test_more_day_partitions_than_streaming_slots_lose_nothing(
    config: dict, s3_client: Any, bucket: str, tmp_path: Path
) -> None:
    days = MAX_STREAMING_OBJECTS + 4  # the rest are spooled and compressed at drain
    recs = [audit_log(n, day=1 + n % days) for n in range(days * 5)]
    text = lines(schema("audit_logs"), *(record("audit_logs", r) for r in recs))
    run = run_cli_in_process(config, text, tmp=tmp_path)
    assert run.returncode == 0, run.stderr
    objects = all_objects(s3_client, bucket)
    assert len(objects) == days
    for key, data in objects.items():
        got = json.loads(open_with_tools(key, data, tmp_path))
        day = int(key.split("/")[-2])
        assert got == [r for r in recs if r["meta"]["create_time"][8:10] == f"{day:02d}"]


@pytest.mark.parametrize("fmt", ["json", "jsonl"])
def test_spooled_object_is_whole_at_every_finish_across_read_chunks_and_released_handles(
    fmt: str, tmp_path: Path
) -> None:
    object_format = ObjectFormat(fmt, "zip")
    member = object_format.member_name("audit_logs")
    pending = SpooledObject(
        FIRST_TIME, object_format, member, spool_dir=str(tmp_path), level=1, releasable=True
    )
    encoded = [encode_record(audit_log(n)) for n in range(12_000)]
    assert sum(map(len, encoded)) > 2 * COPY_CHUNK  # framed across several spool reads
    for part in (encoded[:5000], encoded[5000:]):
        for line in part:
            pending.append(line)
        pending.spool.release()  # as the scan registry does with an idle scan
        assert not pending.spool.holds_handle
        body = pending.finish()
        got = decode_member(member, member_bytes(body.read(), "zip"))
        body.close()
        assert [r["uuid"] for r in got] == [f"audit-{n:05d}" for n in range(pending.records)]
    pending.close()
    assert list(tmp_path.iterdir()) == []
