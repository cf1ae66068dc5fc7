"""One-line text: what every error line either plugin prints is made of."""

from __future__ import annotations

import re

#: What breaks a line or jumps a column: tab, the line breaks ``str.splitlines`` knows
#: (\n \r \v \f, \x1c-\x1e, NEL, U+2028, U+2029) and \x1f.  Spaces are not among them.
LINE_BREAKS = "\t\n\v\f\r\x1c\x1d\x1e\x1f\x85\u2028\u2029"
# A line break or tab with the whitespace around it: one space in its place.
_FOLD = re.compile(rf"\s*[{LINE_BREAKS}]\s*")


def one_line(text: str) -> str:
    r"""``text`` on one line: each line break or tab, with the whitespace around it, one space.

    Runs of spaces are kept: an error line quotes the value the user gave
    (``bucket 'a  b' is not ...``), and collapsing them showed ``'a b'``, a value
    nobody wrote.  Values are quoted with ``repr`` (``!r``), which writes a line
    break or tab inside them as ``\n`` / ``\t``, so folding never reaches them.
    """
    return _FOLD.sub(" ", text).strip()


def exception_text(exc: BaseException) -> str:
    """An exception's message.

    ``args[0]``, not ``str(exc)``: ``str(KeyError('bucket'))`` quotes the key, and an
    exception raised with several arguments would print as a tuple.
    """
    return str(exc.args[0]) if exc.args else type(exc).__name__


def exception_line(exc: BaseException) -> str:
    """An exception's message as one line."""
    return one_line(exception_text(exc))
