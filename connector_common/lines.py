"""One-line text: what every error line either plugin prints is made of."""

from __future__ import annotations


def one_line(text: str) -> str:
    """Collapse whitespace so a message stays on one line."""
    return " ".join(text.split())


def exception_text(exc: BaseException) -> str:
    """An exception's message.

    ``args[0]``, not ``str(exc)``: ``str(KeyError('bucket'))`` quotes the key, and an
    exception raised with several arguments would print as a tuple.
    """
    return str(exc.args[0]) if exc.args else type(exc).__name__


def exception_line(exc: BaseException) -> str:
    """An exception's message as one line."""
    return one_line(exception_text(exc))
