"""Singer lines in: msgspec's fast reader, with one-line errors that never echo a line.

A line may hold record values (secrets among them), so no error quotes it: a
line that is not JSON is described by its shape (``checks.line_shape``), a
message without a key by the keys it lacks.  STATE lines keep their own text
(``state_text.py``), so the state is printed back exactly as received.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import IO, NoReturn

from singer_sdk.contrib.msgspec import MsgSpecReader
from singer_sdk.singerlib import SingerMessageType
from typing_extensions import override

from target_s3_endor.errors import BadInputError
from target_s3_endor.input.lines import DEFAULT_MAX_LINE_BYTES, input_lines
from target_s3_endor.input.message_text import decode_message, ended_mid_message
from target_s3_endor.input.state_text import with_state_text


def unknown_message(message_dict: dict) -> NoReturn:
    """One line instead of the SDK's traceback for a message type nobody handles."""
    kind = repr(message_dict.get("type"))[:40]
    msg = (
        f"input line has the unknown Singer message type {kind}: expected SCHEMA, "
        "RECORD, STATE, ACTIVATE_VERSION or BATCH"
    )
    raise BadInputError(msg)


class StrictLineReader(MsgSpecReader):
    """msgspec's fast reader, with a one-line error for a line that is not JSON.

    Lines are read as bytes of at most ``max_line_bytes`` (``input/lines.py``).
    """

    max_line_bytes = DEFAULT_MAX_LINE_BYTES
    #: The one line to end with when the input stopped in the middle of a message.
    ended_mid_message: str | None = None
    #: Called when reading stops on an exception (a message refused, an upload failed,
    #: ``sys.exit`` after a stop by signal), before it propagates: the target ends its
    #: run's worker threads there (target.py ``end_run``).
    on_stopped: Callable[[], None] | None = None

    @override
    def process_lines(
        self,
        file_input: IO[str] | None,
        callbacks: dict[str, Callable[[dict], None]],
    ) -> Counter[str]:
        """The SDK's loop, minus two set operations and a dict update per record.

        Same dispatch and errors: a message without ``type`` fails on the
        SDK's check, an unknown type on the SDK's handler.  Whatever ends the
        loop early is told to ``on_stopped`` first.
        """
        try:
            return self._process_lines(file_input, callbacks)
        except BaseException:
            if self.on_stopped is not None:
                self.on_stopped()
            raise

    def _process_lines(
        self,
        file_input: IO[str] | None,
        callbacks: dict[str, Callable[[dict], None]],
    ) -> Counter[str]:
        counts: Counter[str] = Counter()
        records = 0
        decode = self.deserialize_json
        on_record = callbacks[SingerMessageType.RECORD]
        source = file_input or self.default_input
        if source is None:  # started with stdin closed (`<&-`)
            msg = "standard input is closed: pipe a tap into target-s3-endor, or pass --input FILE"
            raise BadInputError(msg)
        for input_line in input_lines(source, self.max_line_bytes):
            line = input_line.data
            try:
                message = decode(line)
            except BadInputError:
                if input_line.complete:
                    raise
                # The last line, cut off: say so at the end, after what came whole is written.
                self.ended_mid_message = ended_mid_message(input_line)
                break
            kind = message.get("type")
            if kind == "RECORD":
                on_record(message)
                records += 1
                continue
            self.assert_line_requires(message, requires={"type"})
            if kind == "STATE":  # printed back later: keep the value's own text
                message = with_state_text(line, message)
            # A type that is not a string (a list, an object) is unknown, not a TypeError.
            if isinstance(kind, str) and (callback := callbacks.get(kind)):
                callback(message)
            else:
                unknown_message(message)
            counts[str(kind)] += 1
        counts[SingerMessageType.RECORD] += records
        return counts

    @staticmethod
    @override
    def assert_line_requires(line_dict: dict, requires: set[str]) -> None:
        """Name the missing keys, not the message: the SDK's error quotes the record."""
        if not requires.issubset(line_dict):
            missing = ", ".join(sorted(requires - set(line_dict)))
            kind = repr(line_dict.get("type"))[:40]
            msg = f"a Singer message (type {kind}) lacks its {missing} key: fix the tap"
            raise BadInputError(msg)

    @override
    def deserialize_json(self, line: str | bytes) -> dict:
        """Parse one line; name the problem without echoing the (possibly secret) line."""
        message = decode_message(line)  # one line for what is not JSON (input/message_text.py)
        if not isinstance(message, dict):
            kind = type(message).__name__
            msg = f"input line is not a Singer message object but a JSON {kind}: fix the tap"
            raise BadInputError(msg)
        return message
