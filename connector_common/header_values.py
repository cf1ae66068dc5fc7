r"""Secret and header-bound settings checked at start: printable ASCII, no white space at an end.

A bearer token or an AWS key goes into an HTTP header (``Authorization``,
``X-Amz-Security-Token``).  A value pasted with its line break
(``ENDOR_TOKEN=$'...\r'``, a YAML block scalar) or holding a character a header
cannot carry (``\u2028``, a control character) failed only at the first request,
inside ``http.client``: ``Invalid header value b'Bearer ...\n'`` or a
``UnicodeEncodeError`` traceback, the secret printed in full, repr-escaped (which
the scrubbing of raw values missed).  Checked here before anything is sent, such
a value is one line naming the setting (and the variables it is read from), what
is wrong with it and what to do, never the value nor any of its characters.

The same rule holds for secrets that go into a JSON body (the tap's ``api_key``
and ``api_secret``): keys are printable ASCII, so white space at an end or a
control character there is a pasting mistake the API would only refuse later.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

_SPACES = {"\n": "a line break", "\r": "a line break", " ": "a space", "\t": "a tab"}


def value_problem(value: str) -> tuple[str, str] | None:
    """What is wrong with ``value`` as a header value, and the fix, or None when nothing is.

    The words name the kind of character, never the character or where it is.
    """
    for edge, at_end in ((value[-1:], "ends with"), (value[:1], "starts with")):
        if edge and edge.isspace():
            kind = _SPACES.get(edge, "white space")
            return f"{at_end} {kind}", f"paste it without the {kind.removeprefix('a ')}"
    for char in value:
        if not " " <= char <= "~":
            kind = "a control character" if char.isascii() else "a non-ASCII character"
            fix = "paste it again as the plain text your provider issued (printable ASCII only)"
            return f"holds {kind}", fix
    return None


def header_value_problems(
    config: Mapping[str, Any], names: Iterable[str], variables: Mapping[str, Sequence[str]]
) -> list[str]:
    """One line per setting in ``names`` whose text value cannot go into an HTTP header.

    ``variables`` names, per setting, the environment variables it is read from; the
    line names them so the user knows where the value may have come from.
    """
    lines = []
    for name in names:
        value = config.get(name)
        if not isinstance(value, str) or not value:
            continue
        problem = value_problem(value)
        if problem is None:
            continue
        what, fix = problem
        where = f" (or {' / '.join(variables[name])})" if variables.get(name) else ""
        lines.append(
            f"{name}{where} {what}, which a credential cannot hold: {fix} (its value is not shown)"
        )
    return lines
