"""Each layout, format and compression against the local S3 server, read back with real tools."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.s3_listing import decode_member, member_name
from tests.test_target.conftest import (
    all_objects,
    as_exported,
    audit_log,
    finding,
    lines,
    open_with_tools,
    record,
    records_in,
    run_cli_in_process,
    schema,
    singer_file,
    state,
)

EXPORTER = "endor/ff0a1c8e-0c7c-5b41-a5a5-4d2d0a4c4e11-prod-exporter"


def sent_records(text: str) -> list[dict[str, Any]]:
    """The records sent, as the objects hold them (without the tap's ``scan_context.last``)."""
    return [
        as_exported(m["record"])
        for m in map(json.loads, text.splitlines())
        if m.get("type") == "RECORD"
    ]


def read_all(s3_client: Any, bucket: str, tmp: Path) -> dict[str, list[dict[str, Any]]]:
    return {key: records_in(key, data, tmp) for key, data in all_objects(s3_client, bucket).items()}


def test_audit_logs_are_partitioned_by_namespace_and_day(
    config: dict, s3_client: Any, bucket: str, tmp_path: Path
) -> None:
    text = singer_file("layout_audit_logs_two_namespaces.singer")
    run = run_cli_in_process(config, text, tmp=tmp_path)
    assert run.returncode == 0, run.stderr
    objects = read_all(s3_client, bucket, tmp_path)
    rel = {key.split("/", 2)[2]: recs for key, recs in objects.items()}
    folders = sorted(k.rsplit("/", 1)[0] for k in rel)
    assert folders == ["acme.platform/audit-logs/2025/01/03", "acme/audit-logs/2025/01/02"]
    by_uuid = {r["uuid"]: r for recs in objects.values() for r in recs}
    assert by_uuid == {r["uuid"]: r for r in sent_records(text)}
    first = next(k for k in rel if k.startswith("acme/"))
    assert Path(first).name.startswith("20250102T030405Z_")
    # numbers and times come back as the exact text sent
    payload = b"".join(
        open_with_tools(k, v, tmp_path) for k, v in all_objects(s3_client, bucket).items()
    )
    assert b'"amount":1.50' in payload
    assert b"2025-01-02T03:04:05.123Z" in payload
    assert run.states == [
        {"bookmarks": {"audit_logs": {"replication_key_value": "2025-01-03T00:00:00+00:00"}}}
    ]


def test_findings_go_to_one_object_at_the_scan_key(
    config: dict, s3_client: Any, bucket: str, tmp_path: Path
) -> None:
    text = singer_file("layout_findings_one_scan_branch_with_slash.singer")
    run = run_cli_in_process(config, text, tmp=tmp_path)
    assert run.returncode == 0, run.stderr
    objects = read_all(s3_client, bucket, tmp_path)
    assert len(objects) == 1
    key = next(iter(objects))
    assert key.endswith(
        "-prod-exporter/acme/proj-6-github.com-acme-python-repo/schedule/feature%2Fx/"
        "20251215T143025Z_scan-9.zip"
    )
    assert key.startswith("endor/")
    assert objects[key] == sent_records(text)


def test_fallback_place_keeps_records_missing_layout_fields(
    config: dict, s3_client: Any, bucket: str, tmp_path: Path
) -> None:
    text = singer_file("fallback_records_missing_layout_fields.singer")
    run = run_cli_in_process(config, text, tmp=tmp_path)
    assert run.returncode == 0, run.stderr
    objects = read_all(s3_client, bucket, tmp_path)
    assert all("/_unpartitioned/" in key for key in objects)
    got = sorted(r["uuid"] for recs in objects.values() for r in recs)
    assert got == sorted(r["uuid"] for r in sent_records(text))
    assert "lack layout fields" in run.stderr


def test_any_other_taps_stream_is_written_time_partitioned(
    config: dict, s3_client: Any, bucket: str, tmp_path: Path
) -> None:
    text = singer_file("other_tap_stream_without_endor_fields.singer")
    run = run_cli_in_process({**config, "prefix": "exports/singer"}, text, tmp=tmp_path)
    assert run.returncode == 0, run.stderr
    objects = read_all(s3_client, bucket, tmp_path)
    [(key, recs)] = objects.items()
    assert key.startswith("exports/singer/") and "/_unpartitioned/users/" in key
    assert recs == sent_records(text)
    assert run.states == [{"users": 2}]


@pytest.mark.parametrize("fmt", ["json", "jsonl"])
@pytest.mark.parametrize("compression", ["zip", "gzip", "none"])
def test_every_format_and_compression_opens_with_standard_tools(
    fmt: str, compression: str, *, config: dict, s3_client: Any, bucket: str, tmp_path: Path
) -> None:
    text = lines(
        schema("audit_logs"),
        *(record("audit_logs", audit_log(n)) for n in range(25)),
        schema("findings"),
        *(record("findings", finding(n, last=n == 4)) for n in range(5)),
        state({"done": True}),
    )
    run = run_cli_in_process(
        {**config, "format": fmt, "compression": compression}, text, tmp=tmp_path
    )
    assert run.returncode == 0, run.stderr
    ext = {"zip": ".zip", "gzip": f".{fmt}.gz", "none": f".{fmt}"}[compression]
    objects = all_objects(s3_client, bucket)
    assert len(objects) == 2 and all(key.endswith(ext) for key in objects)
    got: list[dict[str, Any]] = []
    for key, data in objects.items():
        payload = open_with_tools(key, data, tmp_path)
        if fmt == "json":
            assert payload.startswith(b"[") and payload.endswith(b"]")
        got.extend(decode_member(member_name(key, data), payload))
    assert sorted(got, key=lambda r: r["uuid"]) == sorted(
        sent_records(text), key=lambda r: r["uuid"]
    )


def test_zip_holds_one_member_named_for_the_stream(
    config: dict, s3_client: Any, bucket: str, tmp_path: Path
) -> None:
    import io
    import zipfile

    text = lines(schema("audit_logs"), record("audit_logs", audit_log(1)))
    assert run_cli_in_process({**config, "format": "jsonl"}, text, tmp=tmp_path).returncode == 0
    [data] = all_objects(s3_client, bucket).values()
    assert zipfile.ZipFile(io.BytesIO(data)).namelist() == ["audit-logs.jsonl"]


def test_batches_by_records_get_unique_keys_and_lose_nothing(
    config: dict, s3_client: Any, bucket: str, tmp_path: Path
) -> None:
    recs = [audit_log(n) for n in range(23)]  # same second for many: keys must still differ
    text = lines(schema("audit_logs"), *(record("audit_logs", r) for r in recs))
    for _ in range(2):  # two runs into the same folder: nothing replaced
        run = run_cli_in_process({**config, "batch_max_records": 5}, text, tmp=tmp_path)
        assert run.returncode == 0, run.stderr
    objects = read_all(s3_client, bucket, tmp_path)
    assert len(objects) == 10
    got = [r["uuid"] for recs in objects.values() for r in recs]
    assert sorted(got) == sorted([r["uuid"] for r in recs] * 2)


def test_batches_by_bytes(config: dict, s3_client: Any, bucket: str, tmp_path: Path) -> None:
    text = lines(schema("audit_logs"), *(record("audit_logs", audit_log(n)) for n in range(20)))
    run = run_cli_in_process({**config, "batch_max_bytes": 1000}, text, tmp=tmp_path)
    assert run.returncode == 0, run.stderr
    objects = read_all(s3_client, bucket, tmp_path)
    assert len(objects) >= 3  # ~240 bytes a record, 1000 bytes a batch
    assert sum(len(v) for v in objects.values()) == 20
