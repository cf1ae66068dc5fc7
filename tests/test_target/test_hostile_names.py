"""Hostile stream names through the real target: every key and member name is safe and apart."""

from __future__ import annotations

import gzip
import io
import subprocess
import zipfile
from pathlib import Path
from typing import Any
from urllib.parse import unquote_to_bytes

import pytest

from target_s3_endor import naming
from tests.test_target.conftest import (
    all_objects,
    audit_log,
    finding,
    lines,
    record,
    records_in,
    run_cli_in_process,
    schema,
    state,
)

# "a/b" and "a:b" sanitise alike; "../../x" was written as the member name.
STREAMS = ["../../x", "a/b", "a:b", "ünïcødé-名前-🚀", "audit-logs", "audit_logs"]


@pytest.mark.parametrize("compression", ["zip", "gzip"])
def test_hostile_stream_names_get_safe_distinct_folders_and_members(
    compression: str, config: dict[str, Any], s3_client: Any, bucket: str, tmp_path: Path
) -> None:
    messages = []
    for index, stream in enumerate(STREAMS):
        messages += [schema(stream), record(stream, audit_log(index))]
    run = run_cli_in_process(
        {**config, "compression": compression}, lines(*messages, state(1)), tmp=tmp_path
    )
    assert run.returncode == 0, run.stderr
    objects = all_objects(s3_client, bucket)
    folders = {key.split("/")[3] for key in objects}
    assert len(objects) == len(folders) == len(STREAMS), sorted(objects)
    for number, (key, data) in enumerate(sorted(objects.items())):
        assert all(part.isascii() and part.isprintable() for part in key.split("/"))
        assert not set(key.split("/")) & {"", ".", ".."}
        unquote_to_bytes(key).decode("utf-8")
        assert len(records_in(key, data, tmp_path)) == 1
        if compression == "zip":
            [name] = zipfile.ZipFile(io.BytesIO(data)).namelist()
            out = tmp_path / f"unzip-{number}"
            (tmp_path / f"{number}.zip").write_bytes(data)
            subprocess.run(["unzip", "-q", f"{number}.zip", "-d", out], cwd=tmp_path, check=True)
            assert [p.name for p in out.iterdir()] == [name]
        else:
            header = data[10:].split(b"\0", 1)[0].decode("latin-1")
            assert "/" not in header and ".." not in header and header.isascii()
            assert gzip.decompress(data)
    member_names = {naming.member_file_name(stream, ".json") for stream in STREAMS}
    assert len(member_names) == len(STREAMS)


def test_refs_long_and_non_ascii_decode_in_the_key(
    config: dict[str, Any], s3_client: Any, bucket: str, tmp_path: Path
) -> None:
    refs = ["a" * 99 + "é", "漢" * 40, "feature/" + "x" * 120, "feature/" + "x" * 121]
    messages = [schema("findings")]
    for index, ref in enumerate(refs):
        messages.append(record("findings", finding(index, f"scan-{index}", ref=ref, last=True)))
    run = run_cli_in_process(config, lines(*messages, state(1)), tmp=tmp_path)
    assert run.returncode == 0, run.stderr
    objects = all_objects(s3_client, bucket)
    ref_segments = {key.split("/")[-2] for key in objects}
    assert len(ref_segments) == len(refs)
    for segment in ref_segments:
        assert len(segment) <= naming.MAX_SEGMENT_LENGTH
        unquote_to_bytes(segment).decode("utf-8")
