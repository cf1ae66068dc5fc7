"""STATE values printed back exactly as they were received, whatever JSON they hold.

A target must hand back a tap's state unchanged: the next run starts from it.
The input reader (msgspec, as the SDK configures it) decodes every non-integer
number as a ``Decimal`` and every integer as a Python ``int`` of any size, so
``1727740800.25``, ``1e400`` and ``123456789012345678901234567890`` all arrive
intact.  The SDK then prints state with ``json.dumps``, which cannot write a
``Decimal`` (the run failed after its upload, on every later run too) and would
write ``Infinity`` for a float overflow.  Here the state is encoded by the same
library, with its number rule, when the STATE arrives: what is printed is what
was decoded, and a value that cannot be written is refused before any upload.

The SDK prints state only ``if self._latest_state``, so a falsy state (``0``,
``""``, ``[]``, ``{}``, ``null``, ``false``) was silently never printed; the
``ReceivedState`` holder is always true and carries the encoded line.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any

import msgspec
from singer_sdk.contrib.msgspec import encoder as msgspec_encoder

from target_s3_endor.errors import BadInputError


@dataclass(frozen=True)
class ReceivedState:
    """A STATE value as received, and the JSON line that prints it back."""

    value: Any
    line: bytes

    def __bool__(self) -> bool:
        """Any received state is printed, ``null`` and ``0`` included."""
        return True

    def __deepcopy__(self, memo: dict[int, Any]) -> ReceivedState:
        """Never changed once received: the SDK's copy before printing can be itself."""
        return self


def received_state(value: Any) -> ReceivedState:
    """Encode ``value`` now, so that a state the target cannot print fails before any upload."""
    try:
        line = msgspec_encoder.encode(value)
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
