r"""A value from the Singer input shows in the target's lines as ``repr``, on one line.

A stream name, a property name, a message type or a BATCH path comes from the tap and
may hold a terminal escape (``\x1b[2J``), a line break, a tab or U+2028.  Every line
the target writes on stderr stays one line without a control character, and a line
naming such a stream shows the name as ``repr`` (the escape written out, not obeyed;
the line break as ``\n``, not folded to a space).
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.test_target.conftest import run_cli_in_process

NOWHERE = "http://127.0.0.1:1"  # refused at once: the upload fails, the lines are the point
CONFIG = {
    "bucket": "acme-exports",
    "endpoint_url": NOWHERE,
    "region": "us-east-1",
    "aws_access_key_id": "AKIDEXAMPLE",
    "aws_secret_access_key": "not-a-secret",
    "max_attempts": 1,
    "max_retry_seconds": 0,
    "batch_max_records": 1,
}
SCHEMA = {"type": "object", "properties": {"id": {"type": "integer"}}}
HOSTILE = "\x1b\x07\x00\n\r\t\x0b\x0c\x1c\x85\u2028\u2029\u200b\x7f"
NAMES = st.text(
    alphabet=st.sampled_from(HOSTILE) | st.characters(codec="utf-8"), min_size=1, max_size=6
).filter(lambda name: not name.isprintable())


def _schema(stream: str, schema: Any = SCHEMA) -> dict[str, Any]:
    return {"type": "SCHEMA", "stream": stream, "schema": schema, "key_properties": []}


def _record(stream: str, record: dict[str, Any]) -> dict[str, Any]:
    return {"type": "RECORD", "stream": stream, "record": record}


def _scenarios(name: str) -> dict[str, list[dict[str, Any]]]:
    """Inputs whose lines name the stream: errors of the target's, the SDK's, and logs."""
    return {
        "record before schema": [_record(name, {"id": 1})],
        "batch before schema": [
            {"type": "BATCH", "stream": name, "encoding": {"format": "jsonl"}, "manifest": []}
        ],
        "activate before schema": [{"type": "ACTIVATE_VERSION", "stream": name, "version": 1}],
        "schema not an object": [
            {"type": "SCHEMA", "stream": name, "schema": [], "key_properties": []}
        ],
        "record not matching": [_schema(name), _record(name, {"id": "x"})],
        "property name": [
            _schema(name, {"type": "object", "properties": {name: {"type": "integer"}}}),
            _record(name, {name: "x"}),
        ],
        "schema changed, full sink": [
            _schema(name),
            _schema(name),  # the SDK: no changes ... for stream '%s'
            _schema(name, {"type": "object", "properties": {"id": {"type": "string"}}}),
            _record(name, {"id": "2"}),
        ],
        "batch file path": [
            _schema(name),
            {
                "type": "BATCH",
                "stream": name,
                "encoding": {"format": "jsonl"},
                "manifest": [f"/nowhere/{name}.jsonl"],
            },
        ],
        "missing key property": [
            {"type": "SCHEMA", "stream": name, "schema": SCHEMA, "key_properties": [name]},
            _record(name, {"id": 1}),
        ],
        "message type": [{"type": name, "stream": name}],
    }


def _assert_lines_printable(stderr: str, what: str) -> None:
    # Split at "\n" only: a U+2028 inside a line must show as a failure, not a new line.
    for line in stderr.split("\n"):
        assert line.isprintable(), f"{what}: {line!r}"


@settings(max_examples=15, deadline=None)
@given(NAMES)
def test_every_line_is_one_printable_line_showing_the_name_as_repr(name: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        for what, messages in _scenarios(name).items():
            text = "".join(json.dumps(message) + "\n" for message in messages)
            run = run_cli_in_process(CONFIG, text, tmp=Path(tmp))
            assert run.returncode != 0, what
            assert "Traceback" not in run.stderr, what
            _assert_lines_printable(run.stderr, what)
            errors = [line for line in run.stderr.split("\n") if "| ERROR" in line]
            assert len(errors) == 1, (what, run.stderr)
            if what == "message type":  # the type, not the stream, is what is wrong there
                assert repr(name)[:40] in errors[0], (what, errors[0])
            elif what == "schema changed, full sink":  # the SDK's log lines name it; S3 fails
                assert f"stream {name!r}" in run.stderr, (what, run.stderr)
            else:
                assert f"stream {name!r}" in errors[0], (what, errors[0])


def test_the_run_summary_shows_a_hostile_stream_name_as_repr(
    config: dict[str, Any], tmp_path: Path
) -> None:
    """A run that writes: the summary's row (and every other line) shows the name as repr."""
    name = "a\x1b[2Jb\nc\u2028d"
    text = "".join(
        json.dumps(message) + "\n"
        for message in (_schema(name), _record(name, {"id": 1}), _record(name, {"id": 2}))
    )
    run = run_cli_in_process({**config, "batch_max_records": 1}, text, tmp=tmp_path)
    assert run.returncode == 0, run.stderr
    _assert_lines_printable(run.stderr, "a run that writes")
    summary = [line for line in run.stderr.split("\n") if f"|   {name!r}  " in line]
    assert len(summary) == 1, run.stderr
