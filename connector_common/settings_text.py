"""Number settings given as text: read as the numbers they spell.

Environment variables and ``.env`` lines are text.  singer-sdk's ``--config=ENV``
turns integer settings into ints but leaves ``number`` settings as strings, which
its own validation then refuses (``'12.5' is not of type 'number'``).  Meltano
cannot carry them as numbers either: a ``kind: decimal`` setting read from the
environment becomes a ``Decimal`` that Meltano 4.4 fails to write into the
plugin's config file ("Object of type Decimal is not JSON serializable"), so
meltano.yml declares those settings ``kind: string`` and they arrive as text.
Both plugins therefore accept a number setting written as a number literal.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, MutableMapping
from decimal import Decimal
from typing import Any


def _types(schema: Mapping[str, Any]) -> set[str]:
    declared = schema.get("type", [])
    return {declared} if isinstance(declared, str) else set(declared)


def number_from_text(text: str, *, integer: bool) -> int | float | None:
    """The number ``text`` spells, or None when it spells none (the schema then says so)."""
    try:
        value = float(text.strip())
    except ValueError:
        return None
    if not math.isfinite(value):
        return None
    if integer:
        return int(value) if value.is_integer() else None
    return (
        int(value) if value.is_integer() and "." not in text and "e" not in text.lower() else value
    )


def _plain_number(value: Decimal | float, types: set[str]) -> int | float:
    """A config file's non-integer for a setting that takes none: 5.0 -> 5, else a float.

    singer-sdk reads a config file's ``5.0`` as ``Decimal('5.0')``, which its validation
    refused as "Decimal('5.0') is not of type 'integer'" although the text "5.0" is read
    as 5; as a float, a value it still refuses is quoted as the user wrote it (5.5).
    """
    number = float(value)
    if "integer" in types and math.isfinite(number) and number.is_integer():
        return int(number)
    return number


def numbers_from_text(config: MutableMapping[str, Any], schema: Mapping[str, Any]) -> None:
    """Replace, in place, each number or integer setting given as a number literal by its number.

    Text that is not a number is left as it is, for the schema's own one-line error.
    A whole-number non-integer (``5.0`` from a config file) for an integer setting is
    that integer, as its text is; any other ``Decimal`` (how singer-sdk reads a config
    file's non-integers) becomes a float, so that the schema's errors quote it as written.
    """
    properties: Mapping[str, Any] = schema.get("properties", {})
    for name, value in list(config.items()):
        if name not in properties:
            continue
        if isinstance(value, Decimal) and "number" in _types(properties[name]):
            # Quoted by the schema's errors as -0.5, not "Decimal('-0.5') is less than ...".
            config[name] = float(value)
            continue
        if isinstance(value, Decimal | float) and "number" not in _types(properties[name]):
            config[name] = _plain_number(value, _types(properties[name]))
            continue
        if not isinstance(value, str):
            continue
        types = _types(properties[name])
        if "string" in types or not types & {"number", "integer"}:
            continue
        number = number_from_text(value, integer="number" not in types)
        if number is not None:
            config[name] = number


def drop_empty_choices(config: MutableMapping[str, Any], schema: Mapping[str, Any]) -> None:
    """Drop, in place, each empty text given for a setting with a fixed list of values.

    Empty text means "not set" for every optional text setting (an empty environment
    variable, ``meltano config set format ""``); a setting with a list of values
    (``format``, ``compression``) refused it as "'' is not one of [...]".  Dropped
    before validation, the schema's default fills it in.
    """
    properties: Mapping[str, Any] = schema.get("properties", {})
    for name in [name for name, value in config.items() if value == ""]:
        if "enum" in properties.get(name, {}):
            del config[name]
