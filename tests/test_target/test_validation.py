"""Record validation with jsonschema-rs (validation.py): same verdicts, no values in errors."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from target_s3_endor.input.validation import RecordInvalid, SchemaError, build_validator
from tests.test_target.conftest import (
    all_objects,
    assert_one_clear_line,
    finding,
    lines,
    record,
    records_in,
    run_cli_in_process,
)

TAP_FINDINGS_SCHEMA = Path(__file__).resolve().parents[2] / "tap_endorlabs/schemas/findings.json"
SECRET = "s3cr3t-value-never-logged"


def leaf_paths(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    if isinstance(value, dict):
        return [p for key, item in value.items() for p in leaf_paths(item, (*path, key))]
    if isinstance(value, list):
        return [p for i, item in enumerate(value) for p in leaf_paths(item, (*path, i))]
    return [path]


def replaced(rec: dict[str, Any], path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    out = copy.deepcopy(rec)
    node: Any = out
    for step in path[:-1]:
        node = node[step]
    node[path[-1]] = value
    return out


def outcome(validate: Any, rec: dict[str, Any]) -> str | None:
    try:
        validate(rec)
    except RecordInvalid as exc:
        return str(exc)
    return None


def test_tap_findings_schema_verdicts_match_the_reference_implementation() -> None:
    """Every leaf of a finding replaced by a wrong type: jsonschema (Python) and ours agree."""
    schema = json.loads(TAP_FINDINGS_SCHEMA.read_text())
    reference = jsonschema.Draft7Validator(schema)
    ours = build_validator(schema)
    rec = finding(1)
    cases = [rec] + [
        replaced(rec, path, bad)
        for path in leaf_paths(rec)
        for bad in (12345, ["list"], {"an": "object"})
    ]
    verdicts = [(reference.is_valid(case), outcome(ours, case) is None) for case in cases]
    assert all(theirs == mine for theirs, mine in verdicts)
    assert sum(not mine for _, mine in verdicts) > len(cases) // 2  # most mutations caught
    bad_level = replaced(rec, ("spec", "level"), 7)
    assert outcome(ours, bad_level) == "data.spec.level must be string"


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ({"type": "integer"}, "data.field must be integer"),
        ({"enum": ["a", "b"]}, "data.field fails the schema's 'enum' rule"),
        ({"type": "string", "pattern": "^x"}, "data.field fails the schema's 'pattern' rule"),
        ({"type": "string", "maxLength": 3}, "data.field fails the schema's 'maxLength' rule"),
    ],
)
def test_errors_name_the_field_and_rule_but_never_the_value(
    rule: dict[str, Any], expected: str
) -> None:
    validate = build_validator({"type": "object", "properties": {"field": rule}})
    assert outcome(validate, {"field": SECRET}) == expected


def test_missing_required_field_and_array_positions_are_named() -> None:
    schema = {
        "type": "object",
        "required": ["uuid"],
        "properties": {"tags": {"type": "array", "items": {"type": "string"}}},
    }
    validate = build_validator(schema)
    assert outcome(validate, {}) == "data must contain 'uuid'"
    assert outcome(validate, {"uuid": "u", "tags": ["a", 5]}) == "data.tags[1] must be string"


def test_formats_are_not_asserted_and_numbers_keep_their_precision() -> None:
    """As with the SDK: a tap's odd timestamp is written as it came, not refused."""
    from decimal import Decimal

    schema = {
        "type": "object",
        "properties": {
            "at": {"type": "string", "format": "date-time"},
            "score": {"type": "number"},
            "count": {"type": "integer"},
        },
    }
    validate = build_validator(schema)
    rec = {"at": "yesterday", "score": Decimal("9.80000000000000000001"), "count": 2**70}
    assert outcome(validate, rec) is None


def test_a_schema_that_is_not_json_schema_is_refused() -> None:
    with pytest.raises(SchemaError):
        build_validator({"type": "object", "properties": {"x": {"type": "strin"}}})
    with pytest.raises(SchemaError):
        build_validator({"type": "object", "properties": {"x": {"$ref": "#/$defs/missing"}}})


def test_bad_deep_field_of_the_tap_findings_schema_gets_one_line(
    config: dict, tmp_path: Path
) -> None:
    schema = json.loads(TAP_FINDINGS_SCHEMA.read_text())
    message = {"type": "SCHEMA", "stream": "findings", "schema": schema, "key_properties": []}
    bad = replaced(finding(1, last=True), ("spec", "level"), 7)
    run = run_cli_in_process(
        config, lines(json.dumps(message), record("findings", bad)), tmp=tmp_path
    )
    assert_one_clear_line(run, "data.spec.level must be string", "does not match its SCHEMA")


def test_schema_defaults_are_not_written_into_records(
    config: dict, s3_client: Any, bucket: str, tmp_path: Path
) -> None:
    body = {
        "type": "object",
        "properties": {"uuid": {"type": "string"}, "color": {"type": "string", "default": "red"}},
    }
    message = {"type": "SCHEMA", "stream": "users", "schema": body, "key_properties": ["uuid"]}
    text = lines(json.dumps(message), record("users", {"uuid": "u-1"}))
    run = run_cli_in_process(config, text, tmp=tmp_path)
    assert run.returncode == 0, run.stderr
    [(key, data)] = all_objects(s3_client, bucket).items()
    assert records_in(key, data, tmp_path) == [{"uuid": "u-1"}]


def test_a_schema_with_non_integer_numbers_validates_by_its_numbers(
    config: dict, s3_client: Any, bucket: str, tmp_path: Path
) -> None:
    """The reader decodes ``0.01`` and ``1e400`` in a SCHEMA as Decimal; they must reach the
    validator as numbers (they were turned into strings, and every such schema refused)."""
    amounts = {
        "type": "object",
        "properties": {
            "uuid": {"type": "string"},
            "amount": {"type": "number", "multipleOf": 0.01, "minimum": 0.25, "maximum": "BIG"},
        },
    }
    message = json.dumps({"type": "SCHEMA", "stream": "payments", "schema": amounts})
    message = message.replace('"BIG"', "1e400")  # beyond any float
    good = run_cli_in_process(
        config,
        lines(
            message, *(record("payments", {"uuid": f"p{n}", "amount": n + 0.25}) for n in range(3))
        ),
        tmp=tmp_path,
    )
    assert good.returncode == 0, good.stderr[-2000:]
    stored = [
        r
        for key, data in all_objects(s3_client, bucket).items()
        for r in records_in(key, data, tmp_path)
    ]
    assert sorted(r["amount"] for r in stored) == [0.25 + n for n in range(3)]

    bad = run_cli_in_process(
        config, lines(message, record("payments", {"uuid": "p9", "amount": 0.255})), tmp=tmp_path
    )
    assert_one_clear_line(bad, "record 1 of stream 'payments'", "'multipleOf' rule")
