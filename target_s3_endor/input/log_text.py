r"""Log lines that stay one line of visible text, whatever names the Singer input holds.

A stream name, a property name or a message type comes from the tap and may hold a
terminal escape (``\x1b[2J``), a line break or U+2028.  The target's own lines quote
such values with ``repr`` (``stream_label``); singer-sdk's own log lines write them as
``'%s'``, and a sink's logger is named after its stream.  This filter, on every
handler of the root logger, makes those lines show the value as ``repr`` too, and
escapes whatever is still not printable, so no line reaches a terminal or a log
collector with a control character in it or split in two.
"""

from __future__ import annotations

import logging


def printable(text: str) -> str:
    r"""``text`` with each character that is not printable written as ``repr`` writes it."""
    if text.isprintable():
        return text
    return "".join(char if char.isprintable() else repr(char)[1:-1] for char in text)


class PrintableLines(logging.Filter):
    """Show singer-sdk's quoted values as ``repr``; escape any character not printable."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite the record in place; never drop it."""
        if (
            record.args
            and isinstance(record.args, tuple)
            and isinstance(record.msg, str)
            and "'%s'" in record.msg
            and "singer_sdk" in record.pathname
        ):
            record.msg = record.msg.replace("'%s'", "%r")
        message = record.getMessage()
        if not message.isprintable():
            record.msg, record.args = printable(message), None
        if not record.name.isprintable():
            record.name = printable(record.name)
        return True


def install_printable_lines() -> None:
    """Put the filter on each handler of the root logger (once; singer-sdk made them)."""
    for handler in logging.getLogger().handlers:
        if not any(isinstance(known, PrintableLines) for known in handler.filters):
            handler.addFilter(PrintableLines())
