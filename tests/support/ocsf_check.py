"""Check an OCSF event with a maintained OCSF library and the 1.3.0 schema it ships.

``pydantic-ocsf`` (dev extra) ships OCSF's own schema exports (``ocsf/schemas/
v1_3_0.json``) and builds Pydantic models from them.  Its models check required
attributes, enums, ``class_uid`` and ``type_uid = class_uid * 100 + activity_id``,
but they accept any unknown key (``extra="allow"``) and do not check
``time``.  So events are also walked against the shipped schema: every key must
be an attribute the schema defines for that object (through ``extends``), every
value of the type the schema's dictionary gives, and every object's
``at_least_one`` constraint met.  Nothing here is a hand-written list of
attributes: all of it is read from the library's schema.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

from ocsf.v1_3_0 import events

EVENT_MODELS = {
    6003: events.ApiActivity,
    3002: events.Authentication,
    2002: events.VulnerabilityFinding,
    2004: events.DetectionFinding,
}
PRIMITIVES: dict[str, tuple[type, ...]] = {
    "boolean_t": (bool,),
    "float_t": (float, int),
    "integer_t": (int,),
    "long_t": (int,),
    "timestamp_t": (int,),
    "port_t": (int,),
    "json_t": (object,),
}


@cache
def schema() -> dict[str, Any]:
    """OCSF 1.3.0 as the library ships it."""
    text = (resources.files("ocsf") / "schemas" / "v1_3_0.json").read_text()
    loaded = json.loads(text)
    assert loaded["version"] == "1.3.0"
    return loaded


def _object_attributes(name: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """An object's attributes and constraints, its ``extends`` chain included."""
    objects = schema()["objects"]
    attributes: dict[str, Any] = {}
    constraints: list[dict[str, Any]] = []
    while name in objects:
        definition = objects[name]
        for key, value in definition.get("attributes", {}).items():
            if key != "$include":
                attributes.setdefault(key, value)
        if definition.get("constraints") and not constraints:
            constraints.append(definition["constraints"])  # a child's replace its parent's
        name = definition.get("extends") or ""
    return attributes, constraints


def _type_of(name: str, local: dict[str, Any]) -> str:
    dictionary = schema()["dictionary"]["attributes"]
    return str(local.get("type") or dictionary.get(name, {}).get("type") or "")


def _check_value(path: str, type_name: str, value: Any, problems: list[str]) -> None:
    if isinstance(value, list):
        for index, item in enumerate(value):
            _check_value(f"{path}[{index}]", type_name, item, problems)
        return
    if type_name in schema()["objects"]:
        if type_name == "object":  # OCSF's free-form object (``unmapped``)
            if not isinstance(value, dict):
                problems.append(f"{path}: expected an object")
            return
        _check_object(path, type_name, value, problems)
        return
    expected = PRIMITIVES.get(type_name, (str,))
    # bool is an int in Python, not in OCSF.
    wrong_bool = isinstance(value, bool) and bool not in expected and object not in expected
    if wrong_bool or not isinstance(value, expected):
        problems.append(f"{path}: {value!r} is not {type_name}")


def _check_object(path: str, name: str, value: Any, problems: list[str]) -> None:
    if not isinstance(value, dict):
        problems.append(f"{path}: expected a {name} object")
        return
    attributes, constraints = _object_attributes(name)
    for key, item in value.items():
        if key not in attributes:
            problems.append(f"{path}.{key}: not an attribute of {name}")
            continue
        _check_value(f"{path}.{key}", _type_of(key, attributes[key]), item, problems)
    for constraint in constraints:
        needed = constraint.get("at_least_one")
        if needed and not any(value.get(key) is not None for key in needed):
            problems.append(f"{path}: {name} needs at least one of {needed}")


def ocsf_problems(event: dict[str, Any]) -> list[str]:
    """Everything the library and its schema find wrong with an event (empty: valid)."""
    problems: list[str] = []
    model = EVENT_MODELS.get(event.get("class_uid"))  # type: ignore[arg-type]
    if model is None:
        return [f"class_uid {event.get('class_uid')!r} is not one this target writes"]
    try:
        model.model_validate(event)
    except ValueError as exc:
        problems.append(f"pydantic-ocsf: {exc}")
    dictionary = schema()["dictionary"]["attributes"]
    for key, value in event.items():
        if key not in dictionary:
            problems.append(f"{key}: not an OCSF attribute")
            continue
        _check_value(key, _type_of(key, {}), value, problems)
    if not isinstance(event.get("time"), int):
        problems.append("time: an event needs its time (timestamp_t, ms since the epoch)")
    return problems
