"""Singer input as lines of bytes: bounded in size, a leading BOM dropped, an unfinished end seen.

The SDK iterates its text input line by line: a 1 GB line was read whole, then
decoded (about 5 GB of memory for one line, and again every run), and a byte
that is not UTF-8 failed inside the text layer with a traceback.  Here lines are
read from the bytes under the text stream, at most ``max_line_bytes`` + 1 bytes
at a time: a longer line is refused with one line that names its stream, before
it takes more memory than the limit.  msgspec reads the bytes directly (and
says so in one line when they are not UTF-8).

A first line that starts with a UTF-8 byte order mark (as some Windows tools
write files) is read without it.  The last line of an input that ends without a
newline is flagged, so that a tap killed mid-line is reported as "the input
ended mid-message" rather than as bad JSON.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any

from target_s3_endor.errors import BadInputError

BOM = b"\xef\xbb\xbf"
DEFAULT_MAX_LINE_BYTES = 64 << 20
# Where a too-long line's stream is looked for: its start (taps write "type" and
# "stream" before the record).
_STREAM_LOOKUP_BYTES = 1 << 16
_STREAM_NAME = re.compile(rb'"stream"\s*:\s*"((?:[^"\\]|\\.){1,200})"')


@dataclass(slots=True)
class InputLine:
    """One line of input: its bytes (newline included, BOM not), number and whether it ended."""

    data: bytes
    number: int
    complete: bool


def stream_named_in(data: bytes) -> str | None:
    """The ``stream`` of a message from the start of its text, if it is there."""
    found = _STREAM_NAME.search(data, 0, _STREAM_LOOKUP_BYTES)
    if found is None:
        return None
    return found.group(1).decode("utf-8", "replace")[:100]


def _too_long(data: bytes, number: int, limit: int) -> BadInputError:
    stream = stream_named_in(data)
    of_stream = f" (stream {stream!r})" if stream else ""
    msg = (
        f"input line {number}{of_stream} is longer than max_line_bytes ({limit} bytes): "
        "raise max_line_bytes if records that big are expected, or have the tap send "
        "smaller records"
    )
    return BadInputError(msg)


def input_lines(source: IO[Any], limit: int = DEFAULT_MAX_LINE_BYTES) -> Iterator[InputLine]:
    """The lines of ``source`` as bytes, each at most ``limit`` bytes before its newline.

    Raises:
        BadInputError: a line is longer than ``limit``.
    """
    binary = getattr(source, "buffer", None)
    number = 0
    if binary is None:  # a text stream without bytes under it (an in-process caller's)
        for text in source:
            number += 1
            data = text.encode("utf-8", "surrogateescape") if isinstance(text, str) else text
            if number == 1:
                data = data.removeprefix(BOM)
            if len(data.rstrip(b"\r\n")) > limit:
                raise _too_long(data, number, limit)
            yield InputLine(data, number, data.endswith(b"\n"))
        return
    while data := binary.readline(limit + 1):
        number += 1
        if number == 1 and data.startswith(BOM):
            data = data[len(BOM) :]
            if len(data) == limit + 1 - len(BOM):  # the BOM took room: read the rest
                data += binary.readline(len(BOM))
        complete = data.endswith(b"\n")
        if not complete and len(data) > limit:
            raise _too_long(data, number, limit)
        yield InputLine(data, number, complete)
