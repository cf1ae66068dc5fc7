"""A scan's object holds every finding of the scan, however its findings arrive.

Findings of one scan may come interleaved with other scans', split by SCHEMA
messages (the SDK then retires the sink), by drains of every kind, or after the
scan's ``last`` finding.  Every test runs the real target against the local S3
with bucket versioning on, so every object ever written to a key is kept and
"each key is written once in a run" is checked on all of them: a scan waits for
its last finding (or the end of the input), however many drains come between.
"""

from __future__ import annotations

import itertools
import json
import logging
import subprocess
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from target_s3_endor.batching.pending import SpooledObject
from target_s3_endor.batching.scans import MAX_OPEN_HANDLES, OpenScan, ScanRegistry
from target_s3_endor.formats.encoding import ObjectFormat, encode_record
from target_s3_endor.layouts import endor
from tests.test_target.conftest import (
    as_exported,
    audit_log,
    finding,
    lines,
    record,
    records_in,
    run_cli_in_process,
    run_in_process,
    schema,
    shared_case,
    start_draining_target,
    state,
)

Versions = dict[str, list[list[dict[str, Any]]]]


@pytest.fixture
def versioned(s3_client: Any, bucket: str) -> str:
    """The test's bucket with versioning on: every PutObject stays readable."""
    s3_client.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    return bucket


def key_history(s3_client: Any, bucket: str, tmp: Path) -> Versions:
    """key -> the records of every object written to it, oldest first."""
    found: dict[str, list[tuple[Any, str]]] = defaultdict(list)
    for page in s3_client.get_paginator("list_object_versions").paginate(Bucket=bucket):
        for version in page.get("Versions", []):
            found[version["Key"]].append((version["LastModified"], version["VersionId"]))
    history: Versions = {}
    for key, versions in found.items():
        # Newest first as listed; sorted again by time, the listing order breaking ties.
        ordered = [v for _, v in sorted(reversed(versions), key=lambda tv: tv[0])]
        history[key] = [
            records_in(
                key, s3_client.get_object(Bucket=bucket, Key=key, VersionId=v)["Body"].read(), tmp
            )
            for v in ordered
        ]
    return history


def assert_no_key_shrinks(history: Versions) -> None:
    """Each object written to a key holds every record the one before it held, in order."""
    for key, versions in history.items():
        for before, after in itertools.pairwise(versions):
            assert after[: len(before)] == before, f"{key} lost records"
            assert len(after) > len(before), f"{key} rewritten without new records"


def findings_sent(text: str) -> dict[str, list[dict[str, Any]]]:
    """scan uuid -> its findings, in the order they were sent."""
    by_scan: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for line in text.splitlines():
        message = json.loads(line)
        if message["type"] == "RECORD" and message["stream"] == "findings":
            rec = message["record"]
            by_scan[rec["scan_context"]["scan_uuid"]].append(as_exported(rec))
    return by_scan


def scan_of(key: str) -> str:
    """The scan uuid in a findings key ``.../<time>_<scan uuid>.zip``."""
    return key.rsplit("/", 1)[1].split("_", 1)[1].removesuffix(".zip")


def final_objects(history: Versions) -> dict[str, list[dict[str, Any]]]:
    return {key: versions[-1] for key, versions in history.items()}


def assert_each_scan_whole(text: str, history: Versions) -> None:
    """One object per scan, written once, holding exactly that scan's findings, in order."""
    assert_no_key_shrinks(history)
    assert {key: len(v) for key, v in history.items() if len(v) != 1} == {}
    objects = {scan_of(key): recs for key, recs in final_objects(history).items()}
    assert objects == findings_sent(text)


def run_and_check(config: dict, text: str, s3_client: Any, bucket: str, tmp: Path) -> Versions:
    run = run_cli_in_process(config, text, tmp=tmp)
    assert run.returncode == 0, run.stderr
    assert "Traceback" not in run.stderr
    history = key_history(s3_client, bucket, tmp)
    assert_each_scan_whole(text, history)
    return history


CASES = [
    (case, batch)
    for case in ("target/interleaved-scans.singer", "target/schema-change-mid-scan.singer")
    for batch in (10_000, 1)
]


@pytest.mark.parametrize("case", CASES, ids=lambda case: f"{case[0]}-{case[1]}")
def test_shared_cases_write_each_scan_whole(
    case: tuple[str, int], config: dict, s3_client: Any, versioned: str, tmp_path: Path
) -> None:
    name, batch_max_records = case
    text = shared_case(name)
    config = {**config, "batch_max_records": batch_max_records}
    run = run_cli_in_process(config, text, tmp=tmp_path)
    assert run.returncode == 0, run.stderr
    history = key_history(s3_client, versioned, tmp_path)
    assert_each_scan_whole(text, history)
    assert len(history) == len(findings_sent(text))
    last_state = [json.loads(line) for line in text.splitlines()][-1]["value"]
    assert run.states[-1] == last_state


def test_drain_after_every_record_mid_scan(
    config: dict, s3_client: Any, versioned: str, tmp_path: Path
) -> None:
    scan = [finding(n, "scan-a", last=n == 4) for n in range(5)]
    text = lines(schema("findings"), *(record("findings", f) for f in scan))
    history = run_and_check(
        {**config, "batch_max_records": 1}, text, s3_client, versioned, tmp_path
    )
    [versions] = history.values()
    assert [len(v) for v in versions] == [5]  # five drains, one upload


def test_a_big_scan_over_many_drains_is_written_once(
    config: dict, s3_client: Any, versioned: str, tmp_path: Path
) -> None:
    # Found in review (issue 20): every drain re-encoded and re-uploaded every open
    # scan, so a 30,000-finding scan with batch_size_rows 1000 wrote its key 60 times
    # (quadratic cost). Here 40 drains (by records) come while the scan is open.
    count = 2_000
    scan = [finding(n, "scan-big", last=n == count - 1) for n in range(count)]
    audit = [audit_log(n) for n in range(count)]
    messages = [schema("findings"), schema("audit_logs")]
    for f, a in zip(scan, audit, strict=True):
        messages += [record("findings", f), record("audit_logs", a)]
    text = lines(*messages)
    config = {**config, "batch_max_records": 100}
    run_in_process(config, text)
    history = key_history(s3_client, versioned, tmp_path)
    assert {key: len(v) for key, v in history.items() if len(v) != 1} == {}
    [scan_key] = [key for key in history if key.endswith("_scan-big.zip")]
    assert history[scan_key] == [[as_exported(f) for f in scan]]
    assert len(history) > 20  # the audit logs' batches: the drains did happen


def test_three_scans_round_robin_with_drains_between(
    config: dict, s3_client: Any, versioned: str, tmp_path: Path
) -> None:
    scans = {s: [finding(n, s, last=n == 5) for n in range(6)] for s in ("scan-a", "b", "c")}
    interleaved = [scans[s][n] for n in range(6) for s in scans]
    text = lines(
        schema("findings"),
        *(record("findings", f) for f in interleaved),
        state({"done": True}),
    )
    history = run_and_check(
        {**config, "batch_max_records": 2}, text, s3_client, versioned, tmp_path
    )
    assert len(history) == 3
    assert all(len(versions) == 1 for versions in history.values())  # none rewritten


def changed_schema(extra_property: str) -> str:
    """A findings SCHEMA that differs from any other by one optional property."""
    body = {
        "type": "object",
        "properties": {"uuid": {"type": "string"}, extra_property: {"type": ["string", "null"]}},
        "additionalProperties": True,
    }
    return json.dumps(
        {"type": "SCHEMA", "stream": "findings", "schema": body, "key_properties": ["uuid"]}
    )


def test_schema_message_between_every_finding(
    config: dict, s3_client: Any, versioned: str, tmp_path: Path
) -> None:
    # Every SCHEMA differs from the one before, so the SDK retires the findings
    # sink and makes a new one before every record.
    messages = []
    for n in range(6):
        for scan in ("scan-x", "scan-y"):
            messages.append(changed_schema(f"{scan}-{n}"))
            messages.append(record("findings", finding(n, scan, last=n == 5)))
    messages.append(state({"n": 6}))
    text = lines(*messages)
    run_and_check(config, text, s3_client, versioned, tmp_path)


def test_schema_change_and_age_drains_mid_scan(
    config: dict, s3_client: Any, versioned: str, tmp_path: Path
) -> None:
    scan = [finding(n, "scan-s", last=n == 3) for n in range(4)]
    text = lines(
        schema("findings"),
        record("findings", scan[0]),
        record("findings", scan[1]),
        changed_schema("context"),
        record("findings", scan[2]),
        record("findings", scan[3]),
    )
    history = run_and_check(
        {**config, "batch_max_age_seconds": 0}, text, s3_client, versioned, tmp_path
    )
    [versions] = history.values()
    assert [len(v) for v in versions] == [4]


def test_findings_after_last_go_to_a_continuation_object(
    config: dict, s3_client: Any, versioned: str, tmp_path: Path
) -> None:
    first = [finding(n, "scan-r", last=n == 2) for n in range(3)]
    # A tap that re-sends the scan, and one more finding marked last too early.
    again = [finding(n, "scan-r", last=n == 2) for n in range(3)]
    late = [finding(9, "scan-r")]
    text = lines(
        schema("findings"),
        *(record("findings", f) for f in first + again + late),
        state({"r": 1}),
    )
    run = run_cli_in_process({**config, "batch_max_records": 2}, text, tmp=tmp_path)
    assert run.returncode == 0, run.stderr
    history = key_history(s3_client, versioned, tmp_path)
    assert_no_key_shrinks(history)
    objects = final_objects(history)
    [main] = [key for key in objects if key.endswith("_scan-r.zip")]
    assert objects.pop(main) == [as_exported(f) for f in first]
    assert sorted(objects.values(), key=len) == [
        [as_exported(f) for f in late],
        [as_exported(f) for f in again],
    ]
    assert all(key.startswith(main.removesuffix(".zip") + "_") for key in objects)
    assert "after the scan's last finding" in run.stderr


def test_more_open_scans_than_file_handles_kept(
    config: dict, s3_client: Any, versioned: str, tmp_path: Path
) -> None:
    count = MAX_OPEN_HANDLES + 20
    names = [f"scan-{n:03d}" for n in range(count)]
    messages = [schema("findings")]
    for n in range(3):
        messages += [record("findings", finding(n, s, last=n == 2)) for s in names]
    text = lines(*messages)
    history = run_and_check(config, text, s3_client, versioned, tmp_path)
    assert len(history) == count


@pytest.mark.timeout(60)
def test_state_received_mid_scan_is_printed_only_once_the_scan_is_whole(
    config: dict, s3_client: Any, versioned: str, tmp_path: Path
) -> None:
    # batch_max_age_seconds 0: every record drains every sink and prints state.
    scan = [finding(n, "scan-m", last=n == 3) for n in range(4)]
    text = lines(
        schema("findings"),
        state({"at": "before"}),
        record("findings", scan[0]),
        record("findings", scan[1]),
        state({"at": "mid-scan"}),
        record("findings", scan[2]),
        record("findings", scan[3]),
    )
    process = start_draining_target(config, tmp_path, stderr=subprocess.DEVNULL)
    assert process.stdin and process.stdout
    process.stdin.write(text)
    process.stdin.close()
    printed = []
    for line in process.stdout:
        printed.append(json.loads(line)["at"])
        if printed[-1] == "mid-scan":  # the scan's object must be whole by now
            latest = final_objects(key_history(s3_client, versioned, tmp_path))
            assert list(latest.values()) == [[as_exported(f) for f in scan]]
    assert process.wait(timeout=60) == 0
    # One state line per drain: after each record, then at the end of input.
    assert printed == ["before", "before", "before", "mid-scan", "mid-scan"]


def test_scan_open_at_end_of_input_keeps_the_state_from_before_it(
    config: dict, s3_client: Any, versioned: str, tmp_path: Path
) -> None:
    scan = [finding(n, "scan-open") for n in range(4)]
    text = lines(
        schema("findings"),
        state({"s": 0}),
        *(record("findings", f) for f in scan[:2]),
        state({"s": 1}),
        *(record("findings", f) for f in scan[2:]),
        state({"s": 2}),
    )
    run = run_cli_in_process(config, text, tmp=tmp_path)
    assert run.returncode == 0, run.stderr
    history = key_history(s3_client, versioned, tmp_path)
    assert_each_scan_whole(text, history)
    assert run.states == [{"s": 0}]
    assert "scan-open" in run.stderr


def test_no_key_is_ever_rewritten_with_fewer_records(
    config: dict, s3_client: Any, versioned: str, tmp_path: Path
) -> None:
    # Everything at once: three scans interleaved, a SCHEMA change, a finding
    # after a scan's last one, drains after every record and a STATE mid-scan.
    a = [finding(n, "scan-a", last=n == 3) for n in range(4)]
    b = [finding(n, "scan-b", last=n == 2) for n in range(3)]
    c = [finding(n, "scan-c", last=n == 1) for n in range(2)]
    late = finding(7, "scan-b", last=True)
    text = lines(
        schema("findings"),
        *(record("findings", f) for f in (a[0], b[0], c[0], a[1])),
        state({"k": 1}),
        changed_schema("context"),
        *(record("findings", f) for f in (b[1], c[1], a[2], b[2], late, a[3])),
        state({"k": 2}),
    )
    run = run_cli_in_process(
        {**config, "batch_max_records": 1, "batch_max_age_seconds": 0}, text, tmp=tmp_path
    )
    assert run.returncode == 0, run.stderr
    history = key_history(s3_client, versioned, tmp_path)
    assert_no_key_shrinks(history)
    objects = {scan_of(key): recs for key, recs in final_objects(history).items()}
    continuation = [recs for scan, recs in objects.items() if scan.startswith("scan-b_")]
    assert continuation == [[as_exported(late)]]
    assert {s: objects[s] for s in ("scan-a", "scan-b", "scan-c")} == {
        "scan-a": [as_exported(f) for f in a],
        "scan-b": [as_exported(f) for f in b],
        "scan-c": [as_exported(f) for f in c],
    }
    assert len(objects) == 4
    # Every record drains and prints state, but no state came before the first
    # scan opened, and {"k": 1} came while scan-a was open: nothing is printed
    # until scan-a's last finding is in S3.
    assert run.states == [{"k": 1}, {"k": 2}]


def test_registry_keeps_at_most_its_handle_limit_open(tmp_path: Path) -> None:
    registry = ScanRegistry(max_open_handles=4)
    scans = []
    for n in range(10):
        place = endor.scan_place(finding(n, f"scan-{n}"), "root")
        assert place is not None
        pending = SpooledObject(
            datetime.now(UTC),
            ObjectFormat("json", "none"),
            "findings.json",
            spool_dir=str(tmp_path),
            level=1,
            releasable=True,
        )
        scan = OpenScan(place, place.key_stem, pending, state_before=None)
        registry.open(scan)
        scans.append(scan)
    for round_ in range(3):
        for scan in scans:
            registry.append(scan, encode_record({"round": round_}))
            assert sum(s.pending.spool.holds_handle for s in scans) <= 4
    assert [json.loads(registry.body(scan).read()) for scan in scans] == [
        [{"round": 0}, {"round": 1}, {"round": 2}]
    ] * 10
    registry.finish(scans[0])
    assert registry.was_finished("scan-0") and registry.get("scan-0") is None
    registry.close(logging.getLogger("test"))
    assert list(tmp_path.iterdir()) == []
