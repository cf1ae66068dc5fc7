"""Hypothesis strategies for records a Singer stream's JSON Schema admits.

hypothesis-jsonschema does not run on current Hypothesis releases, and the
tap's schemas use a small subset of JSON Schema (``type`` lists with null,
``properties``, ``required``, ``additionalProperties``, ``items``, ``enum``,
``format: date-time``), so this covers exactly that subset.  Open objects get
extra keys of any JSON, as the API's free-form parts may hold.
"""

from __future__ import annotations

from datetime import UTC
from typing import Any

from hypothesis import strategies as st

JSON_LEAVES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),  # JSON has neither
    st.text(max_size=20),
)
ANY_JSON = st.recursive(
    JSON_LEAVES,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
RFC3339 = st.datetimes(timezones=st.just(UTC)).map(lambda d: d.isoformat().replace("+00:00", "Z"))


def from_tap_schema(schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Values that validate against ``schema`` (the subset the tap's schemas use)."""
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    types = schema.get("type")
    if types is None:
        if "anyOf" in schema:
            return st.one_of([from_tap_schema(option) for option in schema["anyOf"]])
        return ANY_JSON
    names = types if isinstance(types, list) else [types]
    return st.one_of([_of_type(name, schema) for name in names])


def _of_type(name: str, schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    if name == "null":
        return st.none()
    if name == "boolean":
        return st.booleans()
    if name == "integer":
        return st.integers(-(2**40), 2**40)
    if name == "number":
        return st.floats(allow_nan=False, allow_infinity=False)
    if name == "string":
        if schema.get("format") == "date-time":
            return RFC3339
        return st.text(max_size=30)
    if name == "array":
        return st.lists(from_tap_schema(schema.get("items") or {}), max_size=3)
    if name == "object":
        return _object(schema)
    return ANY_JSON


def _object(schema: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    properties = schema.get("properties") or {}
    required = set(schema.get("required") or [])
    known = st.fixed_dictionaries(
        {name: from_tap_schema(sub) for name, sub in properties.items() if name in required},
        optional={
            name: from_tap_schema(sub) for name, sub in properties.items() if name not in required
        },
    )
    extra = schema.get("additionalProperties")
    if extra is False or not isinstance(extra, dict | bool):
        return known
    values = ANY_JSON if extra is True else from_tap_schema(extra)
    others = st.dictionaries(
        st.text(max_size=8).filter(lambda key: key not in properties), values, max_size=2
    )
    return st.builds(lambda a, b: {**b, **a}, known, others)
