r"""JSON with lone UTF-16 surrogate escapes: read, carried and written back as the same escape.

``"cut emoji \\ud83d"`` is valid JSON (RFC 8259 allows any ``\\uXXXX`` escape) and
is what a backend that cuts strings by UTF-16 units serves.  msgspec refuses it
("Input data was truncated") and cannot encode the Python string it stands for
(a lone surrogate is not UTF-8), so one such record stopped every run as "not
valid JSON".  Here, only when msgspec refuses a text holding such an escape, the
standard library's reader (which keeps the surrogate in the ``str``) reads it,
with msgspec's number rule (``Decimal`` for non-integers, no NaN); and only when
msgspec cannot encode a value, the value is written by a small encoder that
writes each lone surrogate back as its ``\\udXXX`` escape.  The common path stays
msgspec's, at msgspec's speed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any, Protocol

# ``\\uD800``..``\\uDFFF``: the only escapes msgspec refuses.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89abcdefABCDEF][0-9a-fA-F]{2}")
_SURROGATE_ESCAPE_BYTES = re.compile(rb"\\u[dD][89abcdefABCDEF][0-9a-fA-F]{2}")


class Encoder(Protocol):
    """What a msgspec JSON encoder offers."""

    def encode(self, obj: Any, /) -> bytes:
        """The JSON text of ``obj``."""
        ...


def _no_constant(name: str) -> Any:
    msg = f"{name} is not JSON"
    raise ValueError(msg)


def has_surrogate_escape(text: str | bytes) -> bool:
    r"""Whether ``text`` holds a ``\\uD800``..``\\uDFFF`` escape (paired or not)."""
    if isinstance(text, str):
        return _SURROGATE_ESCAPE.search(text) is not None
    return _SURROGATE_ESCAPE_BYTES.search(text) is not None


def decode_with_surrogates(text: str | bytes, parse_float: Callable[[str], Any] = Decimal) -> Any:
    """Read JSON that msgspec refused because of a lone surrogate escape.

    ``parse_float``: as the msgspec decoder it stands in for (``Decimal`` for Singer input).

    Raises:
        ValueError: the text is not JSON (json.JSONDecodeError is one).
        RecursionError: nested deeper than the standard library reads.
    """
    return json.loads(text, parse_float=parse_float, parse_constant=_no_constant)


def _escaped_string(text: str) -> bytes:
    # Lone surrogates are the only characters UTF-8 cannot hold; backslashreplace
    # writes each as \\udXXX, a JSON escape inside the string json.dumps quoted.
    return json.dumps(text, ensure_ascii=False).encode("utf-8", "backslashreplace")


def _encode_escaping(value: Any, encoder: Encoder) -> bytes:
    if isinstance(value, str):
        return _escaped_string(value)
    if isinstance(value, dict):
        members = (
            _escaped_string(str(key)) + b":" + _encode_escaping(item, encoder)
            for key, item in value.items()
        )
        return b"{" + b",".join(members) + b"}"
    if isinstance(value, list | tuple):
        return b"[" + b",".join(_encode_escaping(item, encoder) for item in value) + b"]"
    return encoder.encode(value)


def encode_with_surrogates(value: Any, encoder: Encoder) -> bytes:
    r"""``encoder.encode(value)``, with each lone surrogate written as its ``\udXXX`` escape.

    No trailing newline, as ``encoder.encode`` writes.
    """
    try:
        return encoder.encode(value)
    except UnicodeEncodeError:
        return _encode_escaping(value, encoder)


def without_lone_surrogates(value: Any) -> Any:
    """``value`` with each lone surrogate in its strings made U+FFFD.

    For formats whose strings must be UTF-8 (Parquet columns); the record's own
    text is kept elsewhere (``raw_data``).
    """
    if isinstance(value, str):
        return value.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    if isinstance(value, dict):
        return {without_lone_surrogates(k): without_lone_surrogates(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [without_lone_surrogates(item) for item in value]
    return value


# Private-use escapes, one per surrogate escape of a line: E000..F8FF.
_PRIVATE_FIRST, _PRIVATE_COUNT = 0xE000, 0x1900
_PRIVATE_ESCAPE_BYTES = re.compile(rb"\\u[eEfF][0-9a-fA-F]{3}")


def read_keeping_escapes(line: bytes, read: Callable[[bytes], bytes]) -> bytes | None:
    r"""``read(line)`` for a part of a line that holds surrogate escapes, with their own text.

    Each ``\udXXX`` escape is swapped for a distinct private-use escape of the same
    length (which msgspec reads), ``read`` picks its part (a STATE's value) and the
    escapes are swapped back: the part comes back byte for byte as the tap wrote it,
    upper-case hex included.  None when the line already holds private-use escapes
    (a swap could not be told apart) or too many surrogate escapes.
    """
    escapes = _SURROGATE_ESCAPE_BYTES.findall(line)
    if len(escapes) > _PRIVATE_COUNT or _PRIVATE_ESCAPE_BYTES.search(line):
        return None
    numbers = iter(range(_PRIVATE_FIRST, _PRIVATE_FIRST + len(escapes)))
    swapped = _SURROGATE_ESCAPE_BYTES.sub(lambda _: b"\\u%04x" % next(numbers), line)
    part = read(swapped)
    return _PRIVATE_ESCAPE_BYTES.sub(
        lambda found: escapes[int(found.group()[2:], 16) - _PRIVATE_FIRST], part
    )
