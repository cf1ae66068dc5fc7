"""The tap's ``--state`` and ``--catalog`` files: read, checked, explained in one line.

A state or catalog the SDK cannot use fails deep inside it with a traceback, or
worse is taken silently (a whole STATE message, another pipeline's bookmarks)
and the whole backfill is exported again.  Each is caught here, before the tap
starts, with what to pass instead.
"""

from __future__ import annotations

import json
from typing import IO, Any

from singer_sdk.singerlib import Catalog

from tap_endorlabs.errors import FatalTapError
from tap_endorlabs.streams import STREAM_TYPES

_WHAT_TO_PASS = {
    "state": "pass the last line the target printed, or no --state to start over",
    "catalog": "pass the output of tap-endorlabs --discover, or no --catalog",
}


def _json_object(stream: IO[str], what: str) -> dict[str, Any]:
    """Read a ``--state``/``--catalog`` file that must hold one JSON object.

    Raises:
        FatalTapError: naming the file and what to pass instead.
    """
    name = getattr(stream, "name", what)
    try:
        value = json.loads(stream.read())
    except ValueError as exc:
        msg = f"The {what} file {name} is not JSON ({exc}): {_WHAT_TO_PASS[what]}."
        raise FatalTapError(msg) from None
    if not isinstance(value, dict):
        msg = (
            f"The {what} file {name} holds a JSON {type(value).__name__}, not an object: "
            f"{_WHAT_TO_PASS[what]}."
        )
        raise FatalTapError(msg)
    return value


def read_state(stream: IO[str]) -> dict[str, Any]:
    """Read ``--state``: a state object, or a whole Singer STATE message (its value).

    Refuses one whose bookmarks all belong to other streams: such a file comes
    from another pipeline, and taking it would silently export the whole
    backfill again.

    Raises:
        FatalTapError: naming the file and what is wrong with it.
    """
    name = getattr(stream, "name", "state")
    value = _json_object(stream, "state")
    if value.get("type") == "STATE" and "value" in value:
        # `grep STATE target.log | tail -1` gives the message, not its value.
        value = value["value"]
        if not isinstance(value, dict):
            msg = f"The STATE message in {name} holds a {type(value).__name__}, not an object."
            raise FatalTapError(msg)
    bookmarks = value.get("bookmarks") or {}
    if not isinstance(bookmarks, dict) or not all(
        isinstance(entry, dict) for entry in bookmarks.values()
    ):
        msg = (
            f"The state file {name} is not a Singer state: bookmarks must map each stream "
            f"to an object; {_WHAT_TO_PASS['state']}."
        )
        raise FatalTapError(msg)
    # Every stream sets ``name`` on its class; the SDK declares it per instance.
    ours = {stream_type.name for stream_type in STREAM_TYPES}  # type: ignore[misc]
    if bookmarks and not ours & set(bookmarks):
        msg = (
            f"The state file {name} holds bookmarks only for other streams "
            f"({', '.join(sorted(bookmarks))}): pass the state of this tap's pipeline "
            "(the last line target-s3-endor printed), or no --state to start from start_date."
        )
        raise FatalTapError(msg)
    return value


def read_catalog(stream: IO[str]) -> dict[str, Any]:
    """Read ``--catalog``: a Singer catalog object the SDK can parse.

    Raises:
        FatalTapError: naming the file and what to pass instead.
    """
    name = getattr(stream, "name", "catalog")
    value = _json_object(stream, "catalog")
    try:
        Catalog.from_dict(value)
    except (TypeError, AttributeError, KeyError, ValueError) as exc:
        msg = (
            f"The catalog file {name} is not a Singer catalog ({type(exc).__name__}: {exc}): "
            f"{_WHAT_TO_PASS['catalog']}."
        )
        raise FatalTapError(msg) from None
    return value
