"""The shape of each Singer message, checked before the SDK's handler sees it.

The SDK's handlers index into a message (``message["version"]``,
``message["schema"]["properties"]``, ``mapper.stream_maps[stream]``) and end
in a ``KeyError`` or ``TypeError`` traceback when a tap sends something out of
shape.  Each check here turns one of those paths into one plain line that names
the message type, the stream and what to fix, and never quotes a record value.
Only the malformed case costs anything: a good message passes a few
``isinstance`` tests.
"""

from __future__ import annotations

from typing import Any

from target_s3_endor.errors import BadInputError


def stream_label(stream: Any) -> str:
    """A stream name fit for an error line: quoted, and cut if a tap sent something huge."""
    text = repr(stream)
    return text if len(text) <= 80 else text[:77] + "..."


def line_shape(line: str) -> str:
    """What an unreadable input line looks like, without a character of its content.

    A line cut short is usually a RECORD (values that may be secrets); a line
    that does not start with ``{`` is usually another program's output on the pipe.
    """
    text = line.lstrip()
    if not text:
        return "it is blank: fix the tap"
    if text[0] == "{":
        return f"a JSON object cut short or malformed ({len(line)} characters): fix the tap"
    return (
        "it does not start with '{': is the tap (or a wrapper) printing logs "
        "to stdout? Singer input holds only JSON messages"
    )


def require_stream(message: dict[str, Any], kind: str) -> str:
    """The message's stream name, which must be a string."""
    article = "an" if kind[0] in "AEIOU" else "a"
    if "stream" not in message:
        msg = f"{article} {kind} message lacks its stream key: fix the tap"
        raise BadInputError(msg)
    stream = message["stream"]
    if not isinstance(stream, str):
        what = type(stream).__name__
        msg = f"{article} {kind} message's stream must be a string, not {what}: fix the tap"
        raise BadInputError(msg)
    return stream


def checked_schema_message(message: dict[str, Any]) -> dict[str, Any]:
    """The SCHEMA message to hand to the SDK, or a one-line error.

    A schema without ``properties`` (``{"type": "object"}``) is valid Singer: an
    object that may hold anything.  The SDK insists on the key, so such a schema
    goes on with an empty ``properties``, which validates exactly the same, and
    its records pass whole.
    """
    stream = require_stream(message, "SCHEMA")
    if "schema" not in message:
        msg = f"the SCHEMA message for stream {stream_label(stream)} lacks its schema: fix the tap"
        raise BadInputError(msg)
    schema = message["schema"]
    if not isinstance(schema, dict):
        msg = (
            f"the SCHEMA message for stream {stream_label(stream)} has a schema that is "
            f"{type(schema).__name__}, not a JSON object: fix the tap"
        )
        raise BadInputError(msg)
    properties = schema.get("properties", {})
    if not isinstance(properties, dict):
        msg = (
            f"the SCHEMA of stream {stream_label(stream)} has properties that are "
            f"{type(properties).__name__}, not a JSON object: fix the tap"
        )
        raise BadInputError(msg)
    key_properties = message.get("key_properties")
    if key_properties is not None and not (
        isinstance(key_properties, list) and all(isinstance(key, str) for key in key_properties)
    ):
        msg = (
            f"the SCHEMA message for stream {stream_label(stream)} has key_properties that are "
            "not a list of field names: fix the tap"
        )
        raise BadInputError(msg)
    if "properties" in schema:
        return message
    return {**message, "schema": {**schema, "properties": {}}}


def check_record_message(message: dict[str, Any]) -> None:
    """A RECORD whose stream is not a string or whose record is not an object: one line."""
    stream = require_stream(message, "RECORD")
    if "record" not in message:
        msg = f"a RECORD message of stream {stream_label(stream)} lacks its record key: fix the tap"
        raise BadInputError(msg)
    record = message["record"]
    if not isinstance(record, dict):
        msg = (
            f"a RECORD message of stream {stream_label(stream)} holds a "
            f"{type(record).__name__}, not a JSON object: fix the tap"
        )
        raise BadInputError(msg)


def activate_version_of(message: dict[str, Any], known_streams: set[str]) -> tuple[str, int]:
    """The stream and version of an ACTIVATE_VERSION message, or a one-line error."""
    stream = require_stream(message, "ACTIVATE_VERSION")
    if stream not in known_streams:
        msg = (
            f"an ACTIVATE_VERSION message for stream {stream_label(stream)} came before that "
            "stream's SCHEMA: fix the tap (Singer needs the SCHEMA first)"
        )
        raise BadInputError(msg)
    version = message.get("version")
    if isinstance(version, bool) or not isinstance(version, int):
        what = (
            "lacks its version key (a whole number)"
            if "version" not in message
            else "has a version that is not a whole number"
        )
        msg = f"the ACTIVATE_VERSION message for stream {stream_label(stream)} {what}: fix the tap"
        raise BadInputError(msg)
    return stream, version
