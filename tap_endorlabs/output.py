"""How the tap writes Singer messages: msgspec, few system calls.

The SDK's msgspec writer flushes stdout after every message; under
``PYTHONUNBUFFERED`` (common in containers) that is a ``write`` system call per
record.  Records only have to reach the target before the STATE that covers
them, so RECORD lines are encoded straight into a buffer of our own, written
out at ``FLUSH_BYTES`` and before every other message (STATE, SCHEMA, ...),
and at exit.
"""

from __future__ import annotations

import atexit
import sys

from singer_sdk.contrib.msgspec import MsgSpecWriter, encoder
from singer_sdk.singerlib.encoding.simple import Message, RecordMessage
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
            try:
                encoder.encode_into(message.to_dict(), self._pending, -1)
            except BaseException:
                del self._pending[start:]
                raise
            self._pending += b"\n"
            if len(self._pending) >= FLUSH_BYTES:
                self.flush()
            return
        self._pending += self.serialize_message(message)
        self.flush()

    def flush(self) -> None:
        """Write out what is buffered, in order, and flush stdout."""
        if self._pending:
            sys.stdout.buffer.write(self._pending)
            self._pending.clear()
        sys.stdout.flush()
