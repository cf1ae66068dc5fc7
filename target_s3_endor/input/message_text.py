"""One Singer line's text to a message, or one line saying why it cannot be one.

msgspec reads the line (as the SDK configures it: ``Decimal`` for non-integer
numbers).  What it refuses ends in a ``BadInputError`` naming the problem, never
a traceback: bytes that are not UTF-8, nesting deeper than the reader goes
(``RecursionError``: ~10,000 levels; 900 pass), text that is not JSON.  A line
it refuses only for a lone UTF-16 surrogate escape is valid JSON and is read
by ``json_text`` instead.
"""

from __future__ import annotations

from typing import Any

import msgspec
from singer_sdk.contrib.msgspec import decoder as msgspec_decoder

from target_s3_endor.errors import BadInputError
from target_s3_endor.input.checks import line_shape
from target_s3_endor.input.lines import InputLine, stream_named_in
from target_s3_endor.json_text import decode_with_surrogates, has_surrogate_escape

_TOO_DEEP = (
    "input line is nested deeper than the JSON reader goes (thousands of levels of "
    "arrays or objects): fix the tap"
)


def _shape(line: str | bytes) -> str:
    """What the line looks like, without a character of its content (message_checks)."""
    return line_shape(line if isinstance(line, str) else line.decode("utf-8", "replace"))


def decode_message(line: str | bytes) -> Any:
    """The JSON value of one input line.

    Raises:
        BadInputError: the line is not UTF-8, not JSON, or nested too deeply.
    """
    try:
        return msgspec_decoder.decode(line)
    except msgspec.DecodeError as exc:
        problem = str(exc)
    except RecursionError:
        raise BadInputError(_TOO_DEEP) from None
    except UnicodeEncodeError:  # a str holding surrogate escapes of undecodable bytes
        problem = "Invalid UTF-8 encoded string"
    if "UTF-8" not in problem and has_surrogate_escape(line):
        try:
            return decode_with_surrogates(line)
        except RecursionError:
            raise BadInputError(_TOO_DEEP) from None
        except ValueError:
            pass
    if "UTF-8" in problem:
        msg = (
            f"input line is not UTF-8 text ({problem}): Singer messages are UTF-8 JSON: fix the tap"
        )
    else:
        # Not even its first characters: a cut RECORD line holds record values.
        msg = f"input line is not valid JSON ({problem}): {_shape(line)}"
    raise BadInputError(msg)


def ended_mid_message(line: InputLine) -> str:
    """What to say when the input's last line stopped before its end (a tap killed mid-line)."""
    stream = stream_named_in(line.data)
    of_stream = f" of stream {stream!r}" if stream else ""
    return (
        f"the input ended mid-message: line {line.number}{of_stream} stops after "
        f"{len(line.data)} bytes without its end (the tap stopped while writing it); "
        "every whole message before it was written, and a state handed back (if the input held "
        "one) covers only those: run again once the tap's failure is fixed"
    )
