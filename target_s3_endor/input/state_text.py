"""STATE values printed back exactly as they were received, whatever JSON they hold.

A target must hand back a tap's state unchanged: the next run starts from it.
The SDK printed state with ``json.dumps`` of the decoded value, but the input
reader (msgspec, as the SDK configures it) decodes every non-integer number as a
``Decimal``, which ``json.dumps`` cannot write: the run failed after its upload,
on every later run too.  Encoding the Decimal back is not exact either: a
``Decimal`` keeps the digits but not the spelling (``1.0e1`` comes back as
``10``, an integer to the tap's JSON reader).

So the reader keeps the value's own JSON text (``msgspec.Raw``: the bytes of the
line between ``"value":`` and the next key) next to the decoded value, and that
text is what is printed: every number, escape and character as the tap wrote
it.  A STATE that reaches the target another way (an in-process caller) is
encoded with the reader's own number rule instead.

The SDK prints state only ``if self._latest_state``, so a falsy state (``0``,
``""``, ``[]``, ``{}``, ``null``, ``false``) was silently never printed; the
``ReceivedState`` holder is always true.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any

import msgspec
from singer_sdk.contrib.msgspec import encoder as msgspec_encoder

from target_s3_endor.errors import BadInputError
from target_s3_endor.json_text import encode_with_surrogates, read_keeping_escapes


class _StateText(msgspec.Struct):
    """The one field of a STATE line whose text is kept as it came."""

    value: msgspec.Raw


_state_text = msgspec.json.Decoder(_StateText)


@dataclass(frozen=True)
class ReceivedState:
    """A STATE value as received (decoded, for comparing), and the line that prints it."""

    value: Any
    line: bytes

    def __bool__(self) -> bool:
        """Any received state is printed, ``null`` and ``0`` included."""
        return True

    def __deepcopy__(self, memo: dict[int, Any]) -> ReceivedState:
        """Never changed once received: the SDK's copy before printing can be itself."""
        return self


def with_state_text(line: str | bytes, message: dict[str, Any]) -> dict[str, Any]:
    """A STATE message whose value is a ``ReceivedState`` carrying the line's own text."""
    if "value" not in message or isinstance(message["value"], ReceivedState):
        return message  # the handler names a missing value
    try:
        text = bytes(_state_text.decode(line).value)
    except msgspec.DecodeError:  # a lone surrogate escape (json_text): its own text kept
        data = line if isinstance(line, bytes) else line.encode("utf-8", "surrogatepass")
        try:
            kept = read_keeping_escapes(data, lambda part: bytes(_state_text.decode(part).value))
        except msgspec.DecodeError:
            kept = None
        if kept is None:
            return {**message, "value": received_state(message["value"])}
        text = kept
    return {**message, "value": ReceivedState(message["value"], text + b"\n")}


def received_state(value: Any) -> ReceivedState:
    """Encode ``value`` now, so that a state the target cannot print fails before any upload."""
    try:
        line = encode_with_surrogates(value, msgspec_encoder)
    except (TypeError, ValueError, OverflowError, msgspec.EncodeError) as exc:
        msg = f"a STATE message's value cannot be written back as JSON ({exc}): fix the tap"
        raise BadInputError(msg) from None
    return ReceivedState(value, line + b"\n")


def write_state_line(state: ReceivedState) -> None:
    """Print the state line as UTF-8 bytes, whatever the console's encoding."""
    sys.stdout.flush()
    binary = getattr(sys.stdout, "buffer", None)
    if binary is None:  # a replaced stdout (a test runner's) takes text
        sys.stdout.write(state.line.decode())
        sys.stdout.flush()
        return
    binary.write(state.line)
    binary.flush()


def state_text(state: Any) -> str:
    """The JSON text of a state as the tap wrote it (for logs and the run manifest)."""
    if isinstance(state, ReceivedState):
        return state.line.decode().rstrip("\n")
    return received_state(state).line.decode().rstrip("\n")
