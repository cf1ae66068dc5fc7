"""Every Singer message type the SDK's reader dispatches, with a real handler.

The SDK's reader dispatches SCHEMA, RECORD, STATE, ACTIVATE_VERSION and BATCH.
Its default handlers assume well-formed messages and a target that stores
records through ``process_batch``; this target spools records itself, so two of
them did nothing useful (BATCH records never reached S3, yet their state was
printed) and the rest ended in tracebacks on malformed input.  Here:

* SCHEMA: checked (``message_checks``); a schema without ``properties`` is an
  open object.
* STATE: any JSON value, printed back exactly as received: its own text, kept by
  the reader (``state_json``).
* ACTIVATE_VERSION: checked, then accepted as a no-op: S3 objects here are
  append-only and never deleted, so a new table version changes nothing already
  written.  Said once per stream in the log; the README says it too.
* BATCH: each record of its files goes down the RECORD path (``batch_messages``).

RECORD keeps its direct path (``record_path``); only a malformed one reaches
``message_checks``.
"""

from __future__ import annotations

from typing import Any

from singer_sdk.target_base import Target
from typing_extensions import override

from target_s3_endor.errors import BadInputError
from target_s3_endor.input.batch_files import batch_records, batch_request
from target_s3_endor.input.checks import (
    activate_version_of,
    checked_schema_message,
    stream_label,
)
from target_s3_endor.input.state_text import ReceivedState, received_state, write_state_line


class SingerInputTarget(Target):
    """Checked handlers for every message type; meant to come first among the bases."""

    _activated_streams: set[str] | None = None

    @override
    def _process_schema_message(self, message_dict: dict) -> None:
        super()._process_schema_message(checked_schema_message(message_dict))

    @override
    def _process_state_message(self, message_dict: dict) -> None:
        """Keep the state as received, encoded now: the SDK prints it after the next drain."""
        self._assert_line_requires(message_dict, requires={"value"})
        value = message_dict["value"]
        if not isinstance(value, ReceivedState):  # not through StrictLineReader: encode it
            message_dict = {**message_dict, "value": received_state(value)}
        super()._process_state_message(message_dict)

    @override
    def _write_state_message(self, state: Any) -> None:
        if not isinstance(state, ReceivedState):  # only ever set through the handler above
            state = received_state(state)
        self.logger.debug("Emitting completed target state %s", state.line.decode().strip())
        write_state_line(state)

    @override
    def _process_activate_version_message(self, message_dict: dict) -> None:
        """Accept a new table version: nothing to do for append-only objects."""
        stream, version = activate_version_of(message_dict, set(self.mapper.stream_maps))
        if self._activated_streams is None:
            self._activated_streams = set()
        if stream in self._activated_streams:
            return
        self._activated_streams.add(stream)
        self.logger.info(
            "ACTIVATE_VERSION %d for stream %s accepted: objects in S3 are append-only, so "
            "records of earlier versions stay where they are (said once per stream)",
            version,
            stream_label(stream),
        )

    @override
    def _process_batch_message(self, message_dict: dict) -> None:
        """Hand every record of the batch files to the RECORD path, one at a time."""
        request = batch_request(message_dict)
        if request.stream not in self.mapper.stream_maps:
            msg = (
                f"a BATCH message for stream {stream_label(request.stream)} came before that "
                "stream's SCHEMA: fix the tap (Singer needs the SCHEMA first)"
            )
            raise BadInputError(msg)
        stream = request.stream
        on_record = self._process_record_message
        count = 0
        for count, record in enumerate(batch_records(request), start=1):  # noqa: B007
            on_record({"type": "RECORD", "stream": stream, "record": record})
        self.logger.info(
            "Read %d records of stream %s from %d BATCH files",
            count,
            stream_label(stream),
            len(request.manifest),
        )
