"""Issue 21.1 and 21.2 for any input line: carried exactly, or refused in one line.

Invariants, over inputs hypothesis generates:

* any bytes on a line give a message or one ``BadInputError`` line, never another
  exception (a traceback);
* any JSON value, with any code point in its strings (lone UTF-16 surrogates
  included, as ``json.dumps`` escapes them), is written back by the target's
  encoder as JSON of the same value;
* any line longer than ``max_line_bytes`` is refused naming its stream, and any
  shorter one is read whole.
"""

from __future__ import annotations

import io
import json
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from target_s3_endor.errors import BadInputError
from target_s3_endor.formats.encoding import encode_record
from target_s3_endor.input.lines import input_lines
from target_s3_endor.input.message_text import decode_message
from target_s3_endor.input.state_text import with_state_text

ANY_CHARACTER = st.characters(min_codepoint=0, max_codepoint=0x10FFFF, exclude_categories=())
ANY_TEXT = st.text(alphabet=ANY_CHARACTER, max_size=12)
JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | ANY_TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(ANY_TEXT, inner, max_size=4),
    max_leaves=12,
)


def _read(text: str | bytes) -> Any:
    return json.loads(text, parse_float=Decimal)


@given(data=st.binary(max_size=200))
def test_any_bytes_are_a_message_or_one_clear_line(data: bytes) -> None:
    try:
        decode_message(data.replace(b"\n", b" ") + b"\n")
    except BadInputError as exc:
        assert "\n" not in str(exc)


@given(value=JSON_VALUES)
def test_any_json_value_is_written_back_as_the_same_value(value: Any) -> None:
    line = json.dumps({"type": "RECORD", "stream": "s", "record": {"v": value}})
    message = decode_message(line.encode())
    written = encode_record(message["record"])
    assert written.endswith(b"\n")
    assert _read(written) == _read(line)["record"]


def test_a_lone_surrogate_keeps_its_escape_text() -> None:
    message = decode_message(
        b'{"type":"RECORD","stream":"s","record":{"name":"cut emoji \\ud83d"}}'
    )
    assert encode_record(message["record"]) == b'{"name":"cut emoji \\ud83d"}\n'


class _Stdin(io.TextIOWrapper):
    """A text stream with bytes under it, as sys.stdin is."""


@given(
    sizes=st.lists(st.integers(min_value=0, max_value=3000), min_size=1, max_size=5),
    limit=st.integers(min_value=1024, max_value=2048),
)
def test_lines_past_max_line_bytes_are_refused_naming_their_stream(
    sizes: list[int], limit: int
) -> None:
    lines = [
        json.dumps({"type": "RECORD", "stream": f"s{n}", "record": {"pad": "x" * size}}).encode()
        for n, size in enumerate(sizes)
    ]
    source = _Stdin(io.BytesIO(b"\n".join(lines) + b"\n"))
    first_long = next((n for n, line in enumerate(lines) if len(line) > limit), None)
    if first_long is None:
        assert [line.data.rstrip(b"\n") for line in input_lines(source, limit)] == lines
        return
    with pytest.raises(BadInputError, match=rf"line {first_long + 1} \(stream 's{first_long}'\)"):
        for line in input_lines(source, limit):
            assert len(line.data) <= limit + 1


@given(
    escapes=st.lists(
        st.sampled_from(["\\ud83d", "\\uD83D", "\\udc00", "\\ud83d\\ude00", "\\uDBFF", "x"]),
        min_size=1,
        max_size=6,
    )
)
def test_a_state_with_surrogate_escapes_is_printed_back_byte_for_byte(escapes: list[str]) -> None:
    value = '{"cursor":"' + "".join(escapes) + '","n":[1.50,2e3]}'
    line = ('{"type":"STATE","value":' + value + "}").encode()
    state = with_state_text(line, decode_message(line))["value"]
    assert state.line == value.encode() + b"\n"
