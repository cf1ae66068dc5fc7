"""Record validation with re-created refs and lazily compiled functions (validation.py)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import fastjsonschema
import pytest

from target_s3_endor.validation import HOISTED_PREFIX, build_validator, lazy_module, with_refs
from tests.test_target.conftest import (
    all_objects,
    decode_member,
    finding,
    lines,
    open_with_tools,
    record,
    run_target,
)

TAP_FINDINGS_SCHEMA = Path(__file__).resolve().parents[2] / "tap_endorlabs/schemas/findings.json"


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
    except fastjsonschema.JsonSchemaValueException as exc:
        return exc.message
    return None


def test_tap_findings_schema_gets_refs_and_accepts_exactly_what_the_original_does() -> None:
    schema = json.loads(TAP_FINDINGS_SCHEMA.read_text())
    rewritten = with_refs(schema)
    assert any(name.startswith(HOISTED_PREFIX) for name in rewritten["$defs"])
    original = fastjsonschema.compile(schema, use_formats=False, use_default=False)
    ours = build_validator(schema)
    rec = finding(1)
    cases = [rec] + [
        replaced(rec, path, bad)
        for path in leaf_paths(rec)
        for bad in (12345, ["list"], {"an": "object"})
    ]
    results = [(outcome(original, case), outcome(ours, case)) for case in cases]
    assert all((a is None) == (b is None) for a, b in results)
    assert sum(b is not None for _, b in results) > len(cases) // 2  # most mutations caught
    bad_level = replaced(rec, ("spec", "level"), 7)
    assert outcome(ours, bad_level) == "data.spec.level must be string"


def test_functions_compile_only_when_a_record_reaches_them() -> None:
    big = {f"f{n}": {"type": "string"} for n in range(60)}
    schema = {
        "type": "object",
        "properties": {
            "left": {"type": "object", "properties": big},
            "right": {"type": "object", "properties": {**big, "x": {"type": "integer"}}},
        },
    }
    code = fastjsonschema.compile_to_code(with_refs(schema), detailed_exceptions=False)
    namespace = lazy_module(code)
    stand_ins = {name: fn for name, fn in namespace.items() if name.startswith("validate")}
    assert len(stand_ins) == 3  # root, left, right
    namespace["validate"]({"left": {"f1": "a"}})
    still_lazy = [name for name, fn in stand_ins.items() if namespace[name] is fn]
    assert len(still_lazy) == 1 and still_lazy[0] != "validate"  # "right" never reached
    with pytest.raises(fastjsonschema.JsonSchemaValueException, match=r"data\.right\.x must be"):
        namespace["validate"]({"right": {"x": "not a number"}})


def test_nested_id_leaves_the_schema_as_it_is() -> None:
    inner = {"$id": "https://example.com/inner", "type": "object", "properties": {"a": {}}}
    schema = {"type": "object", "properties": {"inner": inner}}
    assert with_refs(schema) is schema


def test_bad_deep_field_of_the_tap_findings_schema_gets_one_line(
    config: dict, tmp_path: Path
) -> None:
    schema = json.loads(TAP_FINDINGS_SCHEMA.read_text())
    message = {"type": "SCHEMA", "stream": "findings", "schema": schema, "key_properties": []}
    bad = replaced(finding(1, last=True), ("spec", "level"), 7)
    run = run_target(config, lines(json.dumps(message), record("findings", bad)), tmp=tmp_path)
    assert run.returncode == 1
    assert len(run.error_lines) == 1 and "Traceback" not in run.stderr
    assert "data.spec.level must be string" in run.error_lines[0]
    assert "does not match its SCHEMA" in run.error_lines[0]


def test_schema_defaults_are_not_written_into_records(
    config: dict, s3_client: Any, bucket: str, tmp_path: Path
) -> None:
    body = {
        "type": "object",
        "properties": {"uuid": {"type": "string"}, "color": {"type": "string", "default": "red"}},
    }
    message = {"type": "SCHEMA", "stream": "users", "schema": body, "key_properties": ["uuid"]}
    text = lines(json.dumps(message), record("users", {"uuid": "u-1"}))
    run = run_target(config, text, tmp=tmp_path)
    assert run.returncode == 0, run.stderr
    [(key, data)] = all_objects(s3_client, bucket).items()
    assert decode_member(key, open_with_tools(key, data, tmp_path)) == [{"uuid": "u-1"}]
