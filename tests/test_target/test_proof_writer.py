"""The proof writer's attribution: records -> windows -> the objects that hold them.

In-process: the writer takes its ``put`` as an argument, and the invariant is
about bookkeeping, not S3 (the CLI tests in test_verify.py cover the bucket).
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import IO, Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from target_s3_endor.batching.proof import ProofWriter
from target_s3_endor.errors import BadInputError
from tests.support.reconciled_stream import message, reconciliation
from tests.test_target.conftest import (
    all_objects,
    audit_log,
    lines,
    record,
    run_cli_in_process,
    schema,
    start_draining_target,
)


class Bucket:
    def __init__(self) -> None:
        self.objects: dict[str, bytes] = {}
        self.batches = 0

    def put(self, key: str, body: IO[bytes], content_type: str) -> str:
        self.objects[key] = body.read()
        return key

    def batch_id(self) -> str:
        self.batches += 1
        return f"run-{self.batches:06d}"

    def proofs(self) -> list[dict[str, Any]]:
        return [json.loads(line) for body in self.objects.values() for line in body.splitlines()]


def writer(bucket: Bucket) -> ProofWriter:
    return ProofWriter(bucket.put, lambda stream: "root", bucket.batch_id)


def test_a_window_waits_for_the_object_still_pending_when_it_closes() -> None:
    bucket = Bucket()
    proof = writer(bucket)
    proof.count("audit_logs", "acme", "day-2")
    proof.attribute("audit_logs", "day-2/k1", 1, pending="day-2")
    proof.count("audit_logs", "acme", "day-3")
    proof.close(reconciliation("audit_logs", "acme", 2, window=("a", "b")))
    assert proof.flush() == [] and proof.waiting_windows == 1
    proof.count("audit_logs", "acme", "day-3")  # the next window's record, same object
    proof.count("findings", "acme", "scan/key.zip")  # a scan's object: counted by its key
    proof.attribute("audit_logs", "day-3/k2", 2, pending="day-3")
    [key] = proof.flush()
    assert key.startswith("root/_reconciliation/") and key.endswith("_run-000001.jsonl")
    [written] = bucket.proofs()
    assert written["written_count"] == 2
    assert written["objects"] == [
        {"key": "day-2/k1", "records": 1, "object_records": 1},
        {"key": "day-3/k2", "records": 1, "object_records": 2},
    ]
    proof.close(reconciliation("findings", "acme", 1, scan_uuid="s"))
    proof.attribute("findings", "scan/key.zip", 1)
    proof.flush()
    assert bucket.proofs()[-1]["objects"] == [
        {"key": "scan/key.zip", "records": 1, "object_records": 1}
    ]


def test_a_count_the_target_did_not_receive_is_refused() -> None:
    proof = writer(Bucket())
    proof.count("audit_logs", "acme", "p")
    with pytest.raises(BadInputError, match=r"emitted 2 records .* received 1"):
        proof.close(reconciliation("audit_logs", "acme", 2, window=("a", "b")))


@pytest.mark.parametrize(
    "broken",
    [{"emitted_count": None}, {"emitted_count": "3"}, {"stream": None}, {"uuid": 7}],
)
def test_a_reconciliation_without_its_fields_is_one_line(broken: dict) -> None:
    proof = writer(Bucket())
    with pytest.raises(BadInputError, match="lacks a string uuid or stream"):
        proof.close({**reconciliation("audit_logs", "acme", 0, window=("a", "b")), **broken})


EVENTS = st.lists(
    st.one_of(
        st.tuples(st.just("record"), st.sampled_from(["acme", "beta"]), st.integers(0, 2)),
        st.tuples(st.just("drain"), st.integers(0, 2)),
        st.tuples(st.just("close"), st.sampled_from(["acme", "beta"])),
        st.tuples(st.just("flush")),
    ),
    max_size=60,
)


@settings(max_examples=200)
@given(EVENTS)
def test_every_record_is_in_exactly_one_window_and_object(events: list[tuple]) -> None:
    """Invariant: a proof's object shares add up to its emitted count; across proofs, each
    object's shares never exceed what the object holds; once everything is drained and
    closed, every record received is in a proof."""
    bucket = Bucket()
    proof = writer(bucket)
    received = {"acme": 0, "beta": 0}
    pending: dict[int, int] = {}
    written: dict[str, int] = {}
    objects = 0
    windows = 0
    all_records = 0

    def drain(partition: int) -> None:
        nonlocal objects
        if pending.get(partition):
            objects += 1
            key = f"p{partition}/obj-{objects}"
            written[key] = pending.pop(partition)
            proof.attribute("s", key, written[key], pending=f"p{partition}")

    def close(namespace: str) -> None:
        nonlocal windows
        windows += 1
        proof.close(reconciliation("s", namespace, received[namespace], window=(str(windows), "")))
        received[namespace] = 0

    for event in events:
        if event[0] == "record":
            all_records += 1
            proof.count("s", event[1], f"p{event[2]}")
            received[event[1]] += 1
            pending[event[2]] = pending.get(event[2], 0) + 1
        elif event[0] == "drain":
            drain(event[1])
        elif event[0] == "close":
            close(event[1])
        else:
            proof.flush()
    for namespace in ("acme", "beta"):
        close(namespace)
    for partition in list(pending):
        drain(partition)
    proof.flush()
    proofs = bucket.proofs()
    assert proof.waiting_windows == 0
    assert len(proofs) == windows
    shares: dict[str, int] = {}
    for p in proofs:
        assert sum(o["records"] for o in p["objects"]) == p["emitted_count"] == p["written_count"]
        for o in p["objects"]:
            shares[o["key"]] = shares.get(o["key"], 0) + o["records"]
            assert o["object_records"] == written[o["key"]]
    assert shares == written  # every object's records are all attributed, none twice
    assert sum(p["emitted_count"] for p in proofs) == all_records


def test_a_tap_without_reconciliations_writes_no_proof(
    config: dict, s3_client: Any, bucket: str, tmp_path: Path
) -> None:
    messages = lines(schema("audit_logs"), *(record("audit_logs", audit_log(n)) for n in range(3)))
    run = run_cli_in_process(config, messages, tmp=tmp_path)
    assert run.returncode == 0, run.stderr
    assert not [key for key in all_objects(s3_client, bucket) if "_reconciliation" in key]


def test_a_wrong_emitted_count_stops_the_run_before_the_state(
    config: dict, s3_client: Any, bucket: str, tmp_path: Path
) -> None:
    messages = lines(
        schema("audit_logs"),
        schema("reconciliations"),
        *(record("audit_logs", audit_log(n)) for n in range(3)),
        message("STATE", value={"before": 1}),
        message(
            "RECORD",
            stream="reconciliations",
            record=reconciliation("audit_logs", "acme", 4, window=("a", "b")),
        ),
        message("STATE", value={"after": 1}),
    )
    run = run_cli_in_process(config, messages, tmp=tmp_path)
    assert run.returncode == 1
    assert "Traceback" not in run.stderr
    assert len(run.error_lines) == 1
    assert "emitted 4 records since the previous one, but the target received 3" in run.stderr
    assert {"after": 1} not in run.states
    assert not [key for key in all_objects(s3_client, bucket) if "_reconciliation" in key]


@pytest.mark.timeout(120)
def test_each_state_line_comes_after_the_proof_of_every_window_before_it(
    config: dict, s3_client: Any, bucket: str, tmp_path: Path
) -> None:
    """Fed a window at a time: each STATE after a reconciliation is read back before the
    next window is sent, and its window's proof must be in the bucket by then."""
    process = start_draining_target(config, tmp_path, stderr=subprocess.DEVNULL)
    assert process.stdin and process.stdout
    process.stdin.write(lines(schema("audit_logs"), schema("other"), schema("reconciliations")))
    proven_before: list[set[str]] = []
    for day in (2, 3, 4):
        window = reconciliation("audit_logs", "acme", 2, window=(f"d{day}", f"d{day + 1}"))
        process.stdin.write(
            lines(
                record("audit_logs", audit_log(2 * day, day=day)),
                record("audit_logs", audit_log(2 * day + 1, day=day)),
                message("RECORD", stream="reconciliations", record=window),
                message("STATE", value={"day": day}),
                record("other", audit_log(100 + day, day=day)),  # a record after it: drains
            )
        )
        process.stdin.flush()
        while json.loads(process.stdout.readline()) != {"day": day}:  # earlier ones repeat
            pass
        proven = {
            json.loads(proof_line)["uuid"]
            for key, body in all_objects(s3_client, bucket).items()
            if "/_reconciliation/" in key
            for proof_line in body.decode().splitlines()
        }
        assert window["uuid"] in proven
        proven_before.append(proven)
    process.stdin.close()
    assert process.wait(timeout=60) == 0
    assert [len(p) for p in proven_before] == [1, 2, 3]


def test_a_schema_repeated_mid_window_keeps_each_object_its_own_records(
    config: dict, s3_client: Any, bucket: str, tmp_path: Path
) -> None:
    """A changed SCHEMA makes the SDK start a new sink while the old one still holds a batch
    for the same day folder: two objects of one folder are pending at once."""
    changed = json.dumps(
        {
            "type": "SCHEMA",
            "stream": "audit_logs",
            "schema": {"type": "object", "properties": {"uuid": {"type": "string"}, "x": {}}},
            "key_properties": ["uuid"],
        }
    )
    messages = lines(
        schema("audit_logs"),
        schema("reconciliations"),
        *(record("audit_logs", audit_log(n)) for n in range(3)),
        changed,
        *(record("audit_logs", audit_log(n)) for n in range(3, 5)),
        message(
            "RECORD",
            stream="reconciliations",
            record=reconciliation("audit_logs", "acme", 5, window=("a", "b")),
        ),
    )
    run = run_cli_in_process(config, messages, tmp=tmp_path)
    assert run.returncode == 0, run.stderr
    objects = all_objects(s3_client, bucket)
    [proof] = [json.loads(body) for key, body in objects.items() if "/_reconciliation/" in key]
    data = [key for key in objects if "/_reconciliation/" not in key]
    assert len(data) == 2
    assert sorted(o["key"] for o in proof["objects"]) == sorted(data)
    assert all(o["records"] == o["object_records"] for o in proof["objects"]), proof["objects"]
