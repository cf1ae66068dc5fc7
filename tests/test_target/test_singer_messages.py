"""Every Singer message type the SDK lets through: BATCH, ACTIVATE_VERSION, any STATE.

BATCH records must end in S3 exactly as the same records sent as RECORD messages
would (same objects, same folders, same order, same drains); a STATE must be
printed back exactly as received, whatever JSON it holds.
"""

from __future__ import annotations

import gzip
import json
import os
import re
import signal
import subprocess
import sys
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tests.s3_listing import list_objects
from tests.support.servers import REPO_ROOT, ServerProcess
from tests.test_pipeline.conftest import tap_config
from tests.test_tap.tap_runner import run_tap_in_process
from tests.test_target.conftest import (
    TargetRun,
    audit_log,
    finding,
    lines,
    record,
    run_cli_in_process,
    schema,
    shared_case,
    start_draining_target,
    state,
)

BATCH_ID = re.compile(r"_[0-9a-f]{16}-\d{6}\.")


def stored_layout(s3_client: Any, bucket: str, prefix: str) -> list[tuple[str, list[Any]]]:
    """(key below the prefix, records) of every object, with batch ids blanked out.

    Batch ids hold a random run id; everything else in a key, and every record
    and its place, must be the same however the records arrived.
    """
    return [
        (BATCH_ID.sub("_<batch>.", stored.key.split("/", 1)[1]), stored.records)
        for stored in list_objects(s3_client, bucket, prefix + "/")
    ]


def batch(stream: str, urls: list[str], fmt: str = "jsonl", compression: str = "gzip") -> str:
    encoding = {"format": fmt, "compression": compression}
    return json.dumps({"type": "BATCH", "stream": stream, "encoding": encoding, "manifest": urls})


def write_batch_file(path: Path, rows: list[dict[str, Any]], fmt: str, compression: str) -> str:
    """A batch file as singer-sdk's batchers write it; returns its file:// URL."""
    if fmt == "parquet":
        pq.write_table(pa.Table.from_pylist(rows), path, compression=compression or "none")
    else:
        text = "".join(json.dumps(row) + "\n" for row in rows).encode()
        path.write_bytes(gzip.compress(text) if compression == "gzip" else text)
    return path.as_uri()


def two_streams() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Seven audit logs over two days and one scan of five findings."""
    audits = [audit_log(n, day=2 + n % 2) for n in range(7)]
    findings = [finding(n, last=n == 4) for n in range(5)]
    return audits, findings


@pytest.mark.parametrize(
    ("fmt", "compression"),
    [("jsonl", "gzip"), ("jsonl", "none"), ("parquet", "none"), ("parquet", "gzip")],
)
def test_batch_records_land_exactly_as_record_messages_would(  # noqa: PLR0917 - fixtures
    fmt: str, compression: str, config: dict, s3_client: Any, bucket: str, tmp_path: Path
) -> None:
    audits, findings = two_streams()
    # batch_max_records 3: drains by size fall inside the batch files, as they would
    # between RECORD messages.
    small = {**config, "batch_max_records": 3}
    as_records = lines(
        schema("audit_logs"),
        schema("findings"),
        *(record("audit_logs", r) for r in audits),
        *(record("findings", r) for r in findings),
        state({"upto": 1.5}),
    )
    urls = [
        write_batch_file(tmp_path / f"audit-{part}.{fmt}", rows, fmt, compression)
        for part, rows in enumerate([audits[:4], audits[4:]])
    ]
    finding_url = write_batch_file(tmp_path / f"findings.{fmt}", findings, fmt, compression)
    as_batches = lines(
        schema("audit_logs"),
        schema("findings"),
        batch("audit_logs", urls, fmt, compression),
        batch("findings", [finding_url], fmt, compression),
        state({"upto": 1.5}),
    )

    via_records = run_cli_in_process({**small, "prefix": "records"}, as_records, tmp=tmp_path)
    via_batches = run_cli_in_process({**small, "prefix": "batches"}, as_batches, tmp=tmp_path)

    assert via_batches.returncode == 0, via_batches.stderr[-2000:]
    assert via_records.returncode == 0, via_records.stderr[-2000:]
    assert via_batches.stdout == via_records.stdout == '{"upto": 1.5}\n'
    from_batches = stored_layout(s3_client, bucket, "batches")
    assert from_batches == stored_layout(s3_client, bucket, "records")
    stored = [r["uuid"] for key, records in from_batches if "audit-logs" in key for r in records]
    assert stored == [r["uuid"] for r in sorted(audits, key=lambda r: r["meta"]["create_time"])]


def test_a_jsonl_file_is_gunzipped_whatever_the_message_declares(
    config: dict, s3_client: Any, bucket: str, tmp_path: Path
) -> None:
    """singer-sdk's JSONL batcher gzips every file, even with ``compression: none``."""
    audits, _ = two_streams()
    url = write_batch_file(tmp_path / "a.json.gz", audits, "jsonl", "gzip")
    run = run_cli_in_process(
        config,
        lines(schema("audit_logs"), batch("audit_logs", [url], "jsonl", "none")),
        tmp=tmp_path,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    written = {r["uuid"] for stored in list_objects(s3_client, bucket) for r in stored.records}
    assert written == {r["uuid"] for r in audits}


def test_batch_records_are_validated_like_records(config: dict, tmp_path: Path) -> None:
    url = write_batch_file(tmp_path / "bad.jsonl", [{"uuid": 12345}], "jsonl", "none")
    run = run_cli_in_process(
        config,
        lines(schema("audit_logs"), batch("audit_logs", [url], "jsonl", "none")),
        tmp=tmp_path,
    )
    assert run.returncode == 1
    assert "Traceback" not in run.stderr
    assert run.error_lines[-1].endswith(
        "record 1 of stream 'audit_logs' does not match its SCHEMA (data.uuid must be string): "
        "fix the tap or set validate_records: false"
    )


@pytest.mark.timeout(300)
def test_our_taps_batch_config_output_lands_as_its_record_output(
    emulator: ServerProcess, config: dict, s3_client: Any, bucket: str, tmp_path: Path
) -> None:
    """tap-endorlabs with ``batch_config`` (JSONL, gzip, files of 40 records) against the
    emulator, through the real target: S3 then holds what the tap's RECORD run puts there.
    Both taps run in this process (``run_tap_in_process``: the command's own sync and
    output): what is compared is their output, not their processes."""
    outputs = {}
    for name, extra in {
        "records": {},
        "batches": {
            "batch_config": {
                "encoding": {"format": "jsonl", "compression": "gzip"},
                "storage": {"root": (tmp_path / "batch files").as_uri(), "prefix": "b-"},
                "batch_size": 40,
            }
        },
    }.items():
        tap = run_tap_in_process(tap_config(emulator) | extra)
        assert tap.returncode == 0, tap.stderr[-2000:]
        outputs[name] = tap.stdout
    assert '"type":"BATCH"' in outputs["batches"]
    assert '"type":"RECORD"' not in outputs["batches"]

    runs = {
        name: run_cli_in_process({**config, "prefix": name}, text, tmp=tmp_path)
        for name, text in outputs.items()
    }
    for run in runs.values():
        assert run.returncode == 0, run.stderr[-2000:]
    assert runs["batches"].states[-1] == runs["records"].states[-1]
    from_batches = stored_layout(s3_client, bucket, "batches")
    assert from_batches == stored_layout(s3_client, bucket, "records")
    assert sum(len(records) for _, records in from_batches) > 100


def test_parquet_without_pyarrow_is_refused_in_one_line(config: dict, tmp_path: Path) -> None:
    url = write_batch_file(tmp_path / "a.parquet", [audit_log(1)], "parquet", "none")
    config_path = tmp_path / "config.json"
    config_path.write_text(json.dumps(config))
    without_pyarrow = (
        "import sys; sys.modules['pyarrow'] = None; sys.modules['pyarrow.parquet'] = None; "
        "from target_s3_endor.target import TargetS3Endor; TargetS3Endor.cli()"
    )
    text = lines(
        schema("audit_logs"),
        record("audit_logs", audit_log(2)),
        state({"before": "the batch"}),
        batch("audit_logs", [url], "parquet", "none"),
        state({"after": "the batch"}),
    )
    done = subprocess.run(
        [sys.executable, "-c", without_pyarrow, "--config", str(config_path)],
        input=text,
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        timeout=120,
        check=False,
    )
    run = TargetRun(done.returncode, done.stdout, done.stderr)
    assert run.returncode == 1
    assert "Traceback" not in run.stderr
    assert run.error_lines == [run.error_lines[0]]
    assert "which need pyarrow: pip install pyarrow" in run.error_lines[0]
    assert run.stdout == ""


def test_activate_version_is_accepted_and_said_once_per_stream(
    config: dict, s3_client: Any, bucket: str, tmp_path: Path
) -> None:
    def activate(version: int) -> str:
        return json.dumps({"type": "ACTIVATE_VERSION", "stream": "audit_logs", "version": version})

    run = run_cli_in_process(
        config,
        lines(
            schema("audit_logs"),
            activate(1),
            record("audit_logs", audit_log(1)),
            activate(2),
            record("audit_logs", audit_log(2)),
            activate(3),
            state({"n": 2}),
        ),
        tmp=tmp_path,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.states == [{"n": 2}]
    said = [line for line in run.stderr.splitlines() if "ACTIVATE_VERSION" in line]
    assert len(said) == 1 and "append-only" in said[0], said
    written = sorted(
        r["uuid"] for stored in list_objects(s3_client, bucket) for r in stored.records
    )
    assert written == [audit_log(1)["uuid"], audit_log(2)["uuid"]]


def test_a_schema_without_properties_is_an_open_object(
    config: dict, s3_client: Any, bucket: str, tmp_path: Path
) -> None:
    """``{"type": "object"}`` is valid Singer: every record passes, whole."""
    records = [
        {"uuid": "a", "nested": {"deep": [1, {"x": None}]}, "n": 1.25},
        {"anything": "goes", "tenant_meta": {"namespace": "acme"}},
    ]
    open_schema = json.dumps({"type": "SCHEMA", "stream": "events", "schema": {"type": "object"}})
    run = run_cli_in_process(
        config,
        lines(open_schema, *(record("events", r) for r in records), state(1)),
        tmp=tmp_path,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.states == [1]
    written = [r for stored in list_objects(s3_client, bucket) for r in stored.records]
    assert sorted(written, key=json.dumps) == sorted(records, key=json.dumps)


# --- STATE: printed back exactly as received ---


def exact(text: str) -> Any:
    """JSON with every non-integer number kept exactly (Decimal), as the target reads it."""
    return json.loads(text, parse_float=Decimal)


def same_json(left: Any, right: Any) -> bool:
    """Equal as JSON values: ``1`` is not ``true``, ``1.0`` is not ``1``, order of keys kept."""
    if type(left) is not type(right):
        return False
    if isinstance(left, dict):
        return list(left) == list(right) and all(same_json(left[k], right[k]) for k in left)
    if isinstance(left, list):
        return len(left) == len(right) and all(map(same_json, left, right))
    return bool(left == right)


def test_decimal_in_state_case_is_printed_back(
    config: dict, s3_client: Any, bucket: str, tmp_path: Path
) -> None:
    """shared/cases/target/decimal-in-state.singer: uploaded, then a traceback, no state."""
    text = shared_case("target/decimal-in-state.singer")
    run = run_cli_in_process(config, text, tmp=tmp_path)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "Traceback" not in run.stderr
    line = text.splitlines()[-1]
    [printed] = run.stdout.splitlines()
    assert same_json(exact(printed), exact(line)["value"])
    assert printed == line[line.index('"value": ') + len('"value": ') : -1]  # as the tap wrote it
    assert [r["uuid"] for s in list_objects(s3_client, bucket) for r in s.records] == ["log-1"]


NUMBER_TEXTS = st.one_of(
    st.integers().map(str),
    st.integers(min_value=-(10**60), max_value=10**60).map(str),
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
    st.decimals(allow_nan=False, allow_infinity=False).map(str),
    st.builds(
        "{}{}e{}".format,
        st.sampled_from(["", "-"]),
        st.integers(min_value=1, max_value=999),
        st.integers(min_value=-500, max_value=500),
    ),
)


@dataclass(frozen=True)
class RawNumber:
    """A JSON number's text, written as is (not a str: hypothesis would take it for one)."""

    text: str


def dumps(value: Any, *, ascii_only: bool) -> str:
    """JSON text in which ``RawNumber`` values appear as the numbers they spell, and
    other characters than ASCII as escapes or as themselves."""
    if isinstance(value, RawNumber):
        return value.text
    if isinstance(value, dict):
        return (
            "{"
            + ", ".join(
                f"{json.dumps(k, ensure_ascii=ascii_only)}: {dumps(v, ascii_only=ascii_only)}"
                for k, v in value.items()
            )
            + "}"
        )
    if isinstance(value, list):
        return "[" + ",".join(dumps(item, ascii_only=ascii_only) for item in value) + "]"
    return json.dumps(value, ensure_ascii=ascii_only)


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.text() | NUMBER_TEXTS.map(RawNumber),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(), children, max_size=4)
    ),
    max_leaves=12,
)


def check_states_printed_back(
    values: list[Any], ascii_only: bool, config: dict, tmp_path: Path
) -> None:
    """Each STATE is followed by a record; with batch age 0 every record drains and
    prints the latest state, so stdout holds each value once, in order."""
    messages = [schema("audit_logs")]
    texts = [dumps(value, ascii_only=ascii_only) for value in values]
    for number, text in enumerate(texts):
        messages.append('{"type": "STATE", "value": ' + text + "}")
        messages.append(record("audit_logs", audit_log(number)))
    run = run_cli_in_process({**config, "batch_max_age_seconds": 0}, lines(*messages), tmp=tmp_path)
    assert run.returncode == 0, run.stderr[-2000:]
    # The end of the input drains once more and prints the last state again. Lines end
    # at "\n" only: a state may hold U+0085 or U+2028, which str.splitlines() splits at.
    printed = run.stdout.split("\n")
    assert printed.pop() == ""
    assert printed == [*texts, texts[-1]]  # the tap's own text, number spellings included
    for got, sent in zip(printed, texts, strict=False):
        assert same_json(exact(got), exact(sent)), (got, sent)


SUBPROCESS_EXAMPLES = {
    "deadline": None,
    "suppress_health_check": [HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
}
STATE_LISTS = st.lists(JSON_VALUES, min_size=1, max_size=4)


@settings(max_examples=8, **SUBPROCESS_EXAMPLES)
@given(values=STATE_LISTS, ascii_only=st.booleans())
@example(values=[None, 0, "", [], {}, False], ascii_only=True)
@example(values=[RawNumber("1e400"), RawNumber("123456789012345678901234567890")], ascii_only=True)
@example(values=[{"ünï": ["名前", "🚀", RawNumber("-0.0"), RawNumber("1.10")]}], ascii_only=False)
@example(
    values=[{"\x85\u2028": [RawNumber("1.0e1"), RawNumber("-1.0478301835816128e+16")]}],
    ascii_only=False,
)
def test_any_json_state_is_printed_back_after_its_records(
    values: list[Any], ascii_only: bool, config: dict, tmp_path: Path
) -> None:
    check_states_printed_back(values, ascii_only, config, tmp_path)


# Many states per target process: each state is followed by its own record and printed back
# on its own, so one run of 25 states checks what 25 runs of one state would, at the cost of
# one start-up (issue 23: a run costs ~1.2 s of CPU, mostly its start-up; 100 runs of 1-4
# states, ~250 states, took ~2 min; 24 runs of 5-30 states, ~10 on average, check as many).
MANY_STATE_LISTS = st.lists(JSON_VALUES, min_size=5, max_size=30)


@pytest.mark.slow
@pytest.mark.timeout(1200)
@settings(
    max_examples=24,
    deadline=None,
    suppress_health_check=[
        *SUBPROCESS_EXAMPLES["suppress_health_check"],
        HealthCheck.data_too_large,
    ],
)
@given(values=MANY_STATE_LISTS, ascii_only=st.booleans())
def test_any_json_state_is_printed_back_many_examples(
    values: list[Any], ascii_only: bool, config: dict, tmp_path: Path
) -> None:
    check_states_printed_back(values, ascii_only, config, tmp_path)


@pytest.mark.timeout(120)
def test_a_batch_file_is_read_as_a_stream(
    config: dict, s3_client: Any, bucket: str, tmp_path: Path
) -> None:
    """The batch file is a pipe that the test fills a record at a time: the target writes
    the first record to S3 (and prints the state before the batch) while the file is still
    open, so it never waits for, or holds, the whole file."""
    fifo = tmp_path / "batch.jsonl"
    os.mkfifo(fifo)
    target = start_draining_target(config, tmp_path, stderr=subprocess.DEVNULL)
    assert target.stdin and target.stdout
    target.stdin.write(
        lines(schema("audit_logs"), state({"n": 0}), batch("audit_logs", [fifo.as_uri()]))
    )
    target.stdin.flush()
    with fifo.open("w") as pipe:  # opens once the target opens the file
        pipe.write(json.dumps(audit_log(1)) + "\n")
        pipe.flush()
        assert json.loads(target.stdout.readline()) == {"n": 0}
        stored = [r["uuid"] for s in list_objects(s3_client, bucket) for r in s.records]
        assert stored == [audit_log(1)["uuid"]]
        pipe.write(json.dumps(audit_log(2)) + "\n")
    target.stdin.write(lines(state({"n": 2})))
    target.stdin.close()
    rest = [json.loads(line) for line in target.stdout]
    assert target.wait(timeout=60) == 0
    assert rest[-1] == {"n": 2}
    stored = sorted(r["uuid"] for s in list_objects(s3_client, bucket) for r in s.records)
    assert stored == [audit_log(1)["uuid"], audit_log(2)["uuid"]]


@pytest.mark.timeout(120)
def test_sigterm_inside_a_batch_writes_what_was_read_and_only_the_state_before_it(
    config: dict, s3_client: Any, bucket: str, tmp_path: Path
) -> None:
    """A stop in the middle of a BATCH file: the records read so far go to S3, the state
    printed is the one before the BATCH (the batch's own state never is), exit 143."""
    fifo = tmp_path / "batch.jsonl"
    os.mkfifo(fifo)
    # Batch age 0: the target prints the state after each record it has written, which
    # tells the test that record 1 is in S3 before it sends the signal.
    target = start_draining_target(config, tmp_path, stderr=subprocess.PIPE)
    assert target.stdin and target.stdout and target.stderr
    target.stdin.write(
        lines(
            schema("audit_logs"),
            state({"before": "batch"}),
            batch("audit_logs", [fifo.as_uri()]),
            state({"after": "batch"}),
        )
    )
    target.stdin.flush()
    with fifo.open("w") as pipe:
        pipe.write(json.dumps(audit_log(1)) + "\n")
        pipe.flush()
        assert json.loads(target.stdout.readline()) == {"before": "batch"}
        # The target now waits inside the BATCH file for its next line.
        target.send_signal(signal.SIGTERM)
        out, err = target.communicate(timeout=60)
    assert target.returncode == 143, err[-2000:]
    assert "Traceback" not in err
    assert [json.loads(line) for line in out.splitlines()] == [{"before": "batch"}]
    stored = [r["uuid"] for s in list_objects(s3_client, bucket) for r in s.records]
    assert stored == [audit_log(1)["uuid"]]
