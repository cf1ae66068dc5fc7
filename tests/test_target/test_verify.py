"""``target-s3-endor --verify``: the bucket checked against its completeness proof.

The data objects are written by the real target CLI against the local S3
server (moto); record counts are checked against the tests' own decoder
(tests/s3_listing.py), which reads whole objects, not streams.
"""

from __future__ import annotations

import io
import json
import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from target_s3_endor.layouts import endor
from target_s3_endor.layouts.proof import proof_key, proof_prefix
from target_s3_endor.settings.model import TargetSettings
from target_s3_endor.verify.check import Verifier
from target_s3_endor.verify.counting import count_json_array, count_records, count_sarif
from target_s3_endor.verify.ranged import RangedObject
from tests.s3_listing import decode_object
from tests.support.reconciled_stream import reconciled_stream
from tests.test_target.conftest import (
    all_objects,
    audit_log,
    lines,
    record,
    run_cli_in_process,
    run_target,
    schema,
    state,
)
from tests.test_target.test_security_lake import lake_config, vulnerable

ACCOUNT = "123456789012"


def count_in_bucket(s3_client: Any, bucket: str, key: str) -> int:
    """``--verify``'s streamed count of one object."""
    size = s3_client.head_object(Bucket=bucket, Key=key)["ContentLength"]
    ranged = RangedObject(s3_client, bucket, key, size)
    return count_records(key, lambda: s3_client.get_object(Bucket=bucket, Key=key)["Body"], ranged)


def audit_and_findings() -> str:
    return lines(
        schema("audit_logs"),
        *(record("audit_logs", audit_log(n, day=2 + n % 3)) for n in range(25)),
        schema("findings"),
        *(record("findings", vulnerable(n, last=n == 6)) for n in range(7)),
        state({"bookmarks": {}}),
    )


@pytest.mark.parametrize(
    "fmt_compression",
    [(f, c) for f in ("json", "jsonl", "sarif", "ocsf") for c in ("zip", "gzip", "none")],
)
def test_streamed_counts_match_the_records_in_every_format_and_container(
    fmt_compression: tuple[str, str], config: dict, s3_client: Any, bucket: str, tmp_path: Path
) -> None:
    fmt, compression = fmt_compression
    run = run_cli_in_process(
        {**config, "format": fmt, "compression": compression}, audit_and_findings(), tmp=tmp_path
    )
    assert run.returncode == 0, run.stderr
    objects = all_objects(s3_client, bucket)
    assert len(objects) >= 4
    for key, body in objects.items():
        assert count_in_bucket(s3_client, bucket, key) == len(decode_object(key, body)), key


def test_streamed_counts_of_security_lake_parquet(
    config: dict, s3_client: Any, bucket: str, tmp_path: Path
) -> None:
    run = run_cli_in_process(lake_config(config), audit_and_findings(), tmp=tmp_path)
    assert run.returncode == 0, run.stderr
    keys = all_objects(s3_client, bucket)
    counts = {key: count_in_bucket(s3_client, bucket, key) for key in keys}
    assert sum(counts.values()) == 25 + 7
    assert all(key.endswith(".parquet") for key in counts)


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner),
    max_leaves=8,
)


@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(JSON_VALUES, max_size=12), st.lists(st.lists(JSON_VALUES, max_size=4), max_size=3))
def test_array_and_sarif_counts_are_the_top_level_elements(
    elements: list[Any], runs: list[list[Any]]
) -> None:
    assert count_json_array(io.BytesIO(json.dumps(elements).encode())) == len(elements)
    sarif = {"version": "2.1.0", "runs": [{"results": r, "tool": {"x": [1]}} for r in runs]}
    assert count_sarif(io.BytesIO(json.dumps(sarif).encode())) == sum(len(r) for r in runs)


# --- the check, against proofs built here as the target writes them -----------------------


def proof_line(
    uuid: str,
    objects: list[tuple[str, int, int]],
    *,
    stream: str = "audit_logs",
    namespace: str = "acme",
    emitted: int | None = None,
    api_count: int | None = None,
    window_start: str | None = "2025-01-02T00:00:00Z",
    window_end: str = "2025-01-05T00:00:00Z",
) -> dict[str, Any]:
    emitted = sum(n for _, n, _ in objects) if emitted is None else emitted
    return {
        "uuid": uuid,
        "stream": stream,
        "namespace": namespace,
        "store": "active",
        "window_start": window_start,
        "window_end": window_end if window_start else None,
        "check": "exact",
        "api_count": emitted if api_count is None else api_count,
        "read_count": emitted,
        "emitted_count": emitted,
        "written_count": emitted,
        "first_record_time": "2025-01-02T03:04:00Z",
        "last_record_time": "2025-01-04T03:04:00Z",
        "checked_at": "2025-01-06T00:00:00Z",
        "objects": [{"key": k, "records": n, "object_records": t} for k, n, t in objects],
    }


def put_proof(s3_client: Any, bucket: str, root: str, windows: list[dict], batch: str) -> str:
    key = proof_key(root, datetime(2025, 1, 6, tzinfo=UTC), batch)
    body = "".join(json.dumps(w) + "\n" for w in windows)
    s3_client.put_object(Bucket=bucket, Key=key, Body=body.encode())
    return key


def exporter_root(config: dict) -> str:
    """The key root the target writes under for ``config``."""
    return endor.exporter_root(TargetSettings.from_config(config))


def verify(config: dict, s3_client: Any) -> tuple[int, list[str]]:
    out: list[str] = []
    settings_ = TargetSettings.from_config(config)
    status = Verifier(settings_, logging.getLogger("test"), client=s3_client, echo=out.append).run()
    return status, out


def written_audit_logs(config: dict, s3_client: Any, bucket: str, tmp_path: Path) -> dict:
    messages = lines(
        schema("audit_logs"),
        *(record("audit_logs", audit_log(n, day=2 + n % 3)) for n in range(30)),
    )
    run = run_cli_in_process(
        {**config, "compression": "gzip", "format": "jsonl"}, messages, tmp=tmp_path
    )
    assert run.returncode == 0, run.stderr
    return {k: len(decode_object(k, b)) for k, b in all_objects(s3_client, bucket).items()}


def test_verify_passes_then_names_the_deleted_object(
    config: dict, s3_client: Any, bucket: str, tmp_path: Path
) -> None:
    counts = written_audit_logs(config, s3_client, bucket, tmp_path)
    assert len(counts) == 3
    root = exporter_root(config)
    objects = [(key, n, n) for key, n in sorted(counts.items())]
    put_proof(s3_client, bucket, root, [proof_line("w1", objects)], "run1-000001")

    status, out = verify(config, s3_client)
    assert status == 0, out
    assert out[-1].startswith("verify: complete: 1 windows, 30 records")
    assert out[1].split() == ["audit_logs", "acme", "2025-01-02", "1", "30", "30", "0"]

    gone = objects[1][0]
    s3_client.delete_object(Bucket=bucket, Key=gone)
    status, out = verify(config, s3_client)
    assert status == 1
    assert out[1].split() == ["audit_logs", "acme", "2025-01-02", "1", "30", "20", "10"]
    assert any(line.startswith("MISSING") and gone in line for line in out), out
    assert out[-1].startswith("verify: GAP: 10 of 30 records missing, 1 objects missing")


def test_a_window_exported_twice_counts_once_and_passes_if_one_copy_is_whole(
    config: dict, s3_client: Any, bucket: str, tmp_path: Path
) -> None:
    counts = written_audit_logs(config, s3_client, bucket, tmp_path)
    root = exporter_root(config)
    objects = [(key, n, n) for key, n in sorted(counts.items())]
    lost = [(f"{root}/acme/audit-logs/gone.jsonl.gz", 30, 30)]
    put_proof(s3_client, bucket, root, [proof_line("w1", lost)], "run1-000001")
    put_proof(s3_client, bucket, root, [proof_line("w1", objects)], "run2-000001")
    status, out = verify(config, s3_client)
    assert status == 0, out
    assert out[1].split()[3:] == ["1", "30", "30", "0"]


def test_an_object_holding_fewer_records_than_the_proof_says_is_short(
    config: dict, s3_client: Any, bucket: str, tmp_path: Path
) -> None:
    counts = written_audit_logs(config, s3_client, bucket, tmp_path)
    root = exporter_root(config)
    key, n = sorted(counts.items())[0]
    put_proof(s3_client, bucket, root, [proof_line("w1", [(key, n, n + 1)])], "run1-000001")
    status, out = verify(config, s3_client)
    assert status == 1
    assert any(line.startswith("SHORT") and key in line for line in out), out


def test_a_window_below_the_api_count_or_an_unreadable_proof_line_is_a_gap(
    config: dict, s3_client: Any, bucket: str, tmp_path: Path
) -> None:
    counts = written_audit_logs(config, s3_client, bucket, tmp_path)
    root = exporter_root(config)
    objects = [(key, n, n) for key, n in sorted(counts.items())]
    # A resumed run reads again, but does not emit again, what an earlier run sent: no gap.
    resumed = {**proof_line("w0", [], emitted=0), "api_count": 3, "read_count": 3}
    put_proof(s3_client, bucket, root, [resumed, proof_line("w1", objects)], "r-000000")
    status, out = verify(config, s3_client)
    assert status == 0, out
    put_proof(s3_client, bucket, root, [proof_line("w1", objects, api_count=31)], "r-000001")
    status, out = verify(config, s3_client)
    assert status == 1
    assert "1 below API count" in out[1]

    s3_client.put_object(
        Bucket=bucket,
        Key=proof_key(root, datetime(2025, 1, 7, tzinfo=UTC), "x"),
        Body=b'{"uuid": 1}\n',
    )
    status, out = verify(config, s3_client)
    assert any(line.startswith("UNREADABLE PROOF") for line in out), out


def test_no_proof_at_all_fails(config: dict, s3_client: Any, bucket: str) -> None:
    status, out = verify(config, s3_client)
    assert status == 1
    assert out == [
        f"verify: FAILED: no reconciliation proof under s3://{bucket}/"
        f"{proof_prefix(exporter_root(config)).removesuffix('_reconciliation/')}: nothing "
        "proves this export complete (set prefix, exporter_name or exporter_uuid and layout "
        "as the export's own config does; the tap must emit the reconciliations stream)"
    ]


def test_the_cli_flag_exit_status_and_one_line_errors(
    config: dict, s3_client: Any, bucket: str, tmp_path: Path
) -> None:
    """The command line's ``--verify``: the same click command in this process
    (``run_cli_in_process``: exit status from its ``SystemExit``, stdout, what it logs),
    and one failure as a process of its own, whose exit status and stderr are the real ones."""
    counts = written_audit_logs(config, s3_client, bucket, tmp_path)
    root = exporter_root(config)
    objects = [(key, n, n) for key, n in sorted(counts.items())]
    put_proof(s3_client, bucket, root, [proof_line("w1", objects)], "run1-000001")
    run = run_cli_in_process(config, "", "--verify", tmp=tmp_path)
    assert run.returncode == 0, run.stderr
    assert "verify: complete" in run.stdout
    assert "objects read (100%)" in run.stderr

    s3_client.delete_object(Bucket=bucket, Key=objects[0][0])
    run = run_target(config, "", "--verify", tmp=tmp_path)
    assert run.returncode == 1
    assert objects[0][0] in run.stdout
    assert "Traceback" not in run.stderr

    run = run_cli_in_process(
        {**config, "bucket": "no-such-bucket-here"}, "", "--verify", tmp=tmp_path
    )
    assert run.returncode == 1
    assert "Traceback" not in run.stderr
    assert len(run.error_lines) == 1 and "no-such-bucket-here does not exist" in run.stderr

    run = run_cli_in_process(config, "", "--verify", "--test", tmp=tmp_path)
    assert run.returncode == 1 and "pass one of them" in run.stderr


# --- the proof the target writes, checked by --verify --------------------------------------


def proofs_in_bucket(s3_client: Any, bucket: str) -> list[dict[str, Any]]:
    return [
        json.loads(line)
        for key, body in all_objects(s3_client, bucket).items()
        if "/_reconciliation/" in key
        for line in body.decode().splitlines()
    ]


@pytest.mark.parametrize("layout", ["endor", "security-lake"])
def test_the_target_writes_the_proof_and_verify_names_a_deleted_object(
    layout: str, config: dict, s3_client: Any, bucket: str, tmp_path: Path
) -> None:
    stream = reconciled_stream(7)
    settings = {**config, "batch_max_records": 5}
    if layout == "security-lake":
        settings = lake_config(settings, batch_max_age_seconds=300)
    run = run_cli_in_process(settings, stream.text, tmp=tmp_path)
    assert run.returncode == 0, run.stderr
    assert f"Reconciliation proof: {len(stream.promised)} windows in" in run.stderr

    proofs = proofs_in_bucket(s3_client, bucket)
    assert {p["uuid"]: p["written_count"] for p in proofs} == stream.promised
    data = {k: b for k, b in all_objects(s3_client, bucket).items() if "/_" not in k}
    for proof in proofs:
        assert sum(o["records"] for o in proof["objects"]) == proof["emitted_count"]
        for entry in proof["objects"]:
            assert (
                len(decode_parquet_or_object(entry["key"], data[entry["key"]]))
                == (entry["object_records"])
            )
    # Every data record is in exactly the windows' objects: the proof covers the bucket.
    listed = {o["key"] for p in proofs for o in p["objects"]}
    assert listed == set(data)

    passed = run_cli_in_process(settings, "", "--verify", tmp=tmp_path)
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert "verify: complete" in passed.stdout

    gone = sorted(data)[len(data) // 2]
    s3_client.delete_object(Bucket=bucket, Key=gone)
    failed = run_cli_in_process(settings, "", "--verify", tmp=tmp_path)
    assert failed.returncode == 1
    assert f"MISSING  {gone}" in failed.stdout


def decode_parquet_or_object(key: str, body: bytes) -> list[Any]:
    if key.endswith(".parquet"):
        import pyarrow.parquet as pq

        return pq.read_table(io.BytesIO(body)).to_pylist()
    return decode_object(key, body)


@settings(
    max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_verify_names_exactly_the_objects_deleted(
    data: st.DataObject, config: dict, s3_client: Any
) -> None:
    """Invariant: whatever subset of a window's objects is gone (any window, duplicates in other
    runs included), --verify fails exactly when one of them is gone and names each one."""
    bucket = f"verify-{data.draw(st.uuids()).hex[:20]}"
    s3_client.create_bucket(Bucket=bucket)
    settings_ = {**config, "bucket": bucket}
    root = exporter_root(settings_)
    sizes = data.draw(st.lists(st.integers(1, 4), min_size=1, max_size=6))
    keys = []
    for n, size in enumerate(sizes):
        key = f"{root}/acme/audit-logs/2025/01/02/object-{n}.jsonl"
        body = "".join(json.dumps({"uuid": f"{n}-{i}"}) + "\n" for i in range(size))
        s3_client.put_object(Bucket=bucket, Key=key, Body=body.encode())
        keys.append(key)
    split = data.draw(st.integers(0, len(keys)))
    windows = [
        proof_line(
            "w1",
            [(k, s, s) for k, s in zip(keys[:split], sizes[:split], strict=True)],
            window_end="2025-01-03T00:00:00Z",
        ),
        proof_line(
            "w2",
            [(k, s, s) for k, s in zip(keys[split:], sizes[split:], strict=True)],
            window_start="2025-01-03T00:00:00Z",
        ),
    ]
    put_proof(s3_client, bucket, root, windows, "run1-000001")
    put_proof(s3_client, bucket, root, windows[:1], "run2-000001")  # a re-run proved w1 again
    deleted = set(data.draw(st.lists(st.sampled_from(keys), unique=True)))
    for key in deleted:
        s3_client.delete_object(Bucket=bucket, Key=key)
    status, out = verify(settings_, s3_client)
    named = {line.split()[1] for line in out if line.startswith("MISSING")}
    assert named == deleted
    assert status == (1 if deleted else 0)
    missing = sum(size for key, size in zip(keys, sizes, strict=True) if key in deleted)
    assert out[-1].startswith(f"verify: GAP: {missing} of" if deleted else "verify: complete")


def test_a_deleted_proof_object_leaves_a_hole_in_the_time_line(
    config: dict, s3_client: Any, bucket: str, tmp_path: Path
) -> None:
    counts = written_audit_logs(config, s3_client, bucket, tmp_path)
    root = exporter_root(config)
    proof_keys = []
    for day, (key, n) in enumerate(sorted(counts.items()), start=2):
        start, end = f"2025-01-{day:02d}T00:00:00Z", f"2025-01-{day + 1:02d}T00:00:00+00:00"
        window = {**proof_line(f"w{day}", [(key, n, n)], window_start=start), "window_end": end}
        proof_keys.append(put_proof(s3_client, bucket, root, [window], f"run1-{day:06d}"))
    status, out = verify(config, s3_client)
    assert status == 0, out  # windows meet exactly (any RFC 3339 form): no hole

    s3_client.delete_object(Bucket=bucket, Key=proof_keys[1])
    status, out = verify(config, s3_client)
    assert status == 1
    [hole] = [line for line in out if line.startswith("HOLE")]
    assert hole.split()[1:6] == [
        "audit_logs",
        "acme",
        "2025-01-03T00:00:00.000000Z",
        "..",
        "2025-01-04T00:00:00.000000Z:",
    ]


def test_a_window_whose_object_is_gone_is_healed_by_later_windows_covering_its_span(
    config: dict, s3_client: Any, bucket: str, tmp_path: Path
) -> None:
    """A run from an older state cuts its windows elsewhere (other uuids): when they are
    whole and cover the lost window's whole span, its records are in the bucket."""
    counts = written_audit_logs(config, s3_client, bucket, tmp_path)
    root = exporter_root(config)
    (k1, n1), (k2, n2), (k3, n3) = sorted(counts.items())
    day = "2025-01-{:02d}T00:00:00Z".format
    lost = proof_line("old", [(f"{root}/gone.jsonl.gz", 30, 30)], window_end=day(5))
    first = proof_line("new-1", [(k1, n1, n1)], window_end=day(3))
    second = proof_line("new-2", [(k2, n2, n2)], window_start=day(3), window_end=day(4))
    put_proof(s3_client, bucket, root, [lost, first, second], "run1-000001")
    status, out = verify(config, s3_client)
    assert status == 1  # 04..05 is covered by no whole window: still a gap
    assert any(line.startswith("MISSING") and "gone.jsonl.gz" in line for line in out)

    third = proof_line("new-3", [(k3, n3, n3)], window_start=day(4), window_end=day(5))
    put_proof(s3_client, bucket, root, [third], "run2-000001")
    status, out = verify(config, s3_client)
    assert status == 0, out
    assert not any(line.startswith("MISSING") for line in out)
