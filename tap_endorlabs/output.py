r"""How the tap writes Singer messages: msgspec, few system calls.

The SDK's msgspec writer flushes stdout after every message; under
``PYTHONUNBUFFERED`` (common in containers) that is a ``write`` system call per
record.  Records only have to reach the target before the STATE that covers
them, so RECORD lines are encoded straight into a buffer of our own, written
out at ``FLUSH_BYTES`` and before every other message (STATE, SCHEMA, ...),
and at exit.

A string holding a lone UTF-16 surrogate (the API may serve ``"\ud83d"``, a
string cut between the two halves of an emoji) has no UTF-8 form, so msgspec
cannot write it; such a message is written by the SDK's simplejson writer with
``ensure_ascii``, which writes the surrogate back as the ``\ud83d`` escape
the API sent: valid JSON, the record's text unchanged.
"""

from __future__ import annotations

import atexit
import sys
from typing import Any

from singer_sdk.contrib.msgspec import MsgSpecWriter, encoder
from singer_sdk.singerlib.encoding.simple import Message, RecordMessage
from singer_sdk.singerlib.json import serialize_json
from typing_extensions import override

FLUSH_BYTES = 1 << 16


class BufferedMsgSpecWriter(MsgSpecWriter):
    """msgspec-encoded messages; RECORD lines are buffered, every other message flushes."""

    def __init__(self) -> None:
        super().__init__()
        self._pending = bytearray()
        atexit.register(self.flush)

    @override
    def write_message(self, message: Message) -> None:
        if isinstance(message, RecordMessage):
            # Encoded straight onto the end of the buffer: no intermediate copy. A
            # record that fails to encode must not leave half a line to be flushed.
            start = len(self._pending)
            content = message.to_dict()
            try:
                encoder.encode_into(content, self._pending, -1)
            except UnicodeEncodeError:
                del self._pending[start:]
                self._pending += escaped_line(content)
            except BaseException:
                del self._pending[start:]
                raise
            else:
                self._pending += b"\n"
            if len(self._pending) >= FLUSH_BYTES:
                self.flush()
            return
        try:
            self._pending += self.serialize_message(message)
        except UnicodeEncodeError:
            self._pending += escaped_line(message.to_dict())
        self.flush()

    def flush(self) -> None:
        """Write out what is buffered, in order, and flush stdout."""
        if self._pending:
            sys.stdout.buffer.write(self._pending)
            self._pending.clear()
        sys.stdout.flush()


def escaped_line(content: dict[str, Any]) -> bytes:
    r"""One message as an ASCII JSON line, lone surrogates written as ``\uXXXX`` escapes.

    Only for messages msgspec cannot write (see the module docstring): the SDK's
    own JSON writer (simplejson, ``ensure_ascii``; times and decimals as the SDK
    writes them) is slower, and the escapes make the line longer.
    """
    return serialize_json(content).encode("ascii") + b"\n"
