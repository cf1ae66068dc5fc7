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


def numbers_from_text(config: MutableMapping[str, Any], schema: Mapping[str, Any]) -> None:
    """Replace, in place, each number or integer setting given as a number literal by its number.

    Text that is not a number is left as it is, for the schema's own one-line error.
    """
    properties: Mapping[str, Any] = schema.get("properties", {})
    for name, value in list(config.items()):
        if not isinstance(value, str) or name not in properties:
            continue
        types = _types(properties[name])
        if "string" in types or not types & {"number", "integer"}:
            continue
        number = number_from_text(value, integer="number" not in types)
        if number is not None:
            config[name] = number
