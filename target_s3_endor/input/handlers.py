"""The Singer messages in: the one class that overrides singer-sdk's Target internals.

Every private SDK name the target overrides, calls or reads on the Target is
here (and the Sink's in ``sink_hooks.py``), listed in ``sdk_hooks.py`` and
checked by ``tests/test_target/test_sdk_hooks.py``.  What the handlers do:

* every message type the SDK's reader dispatches gets a checked handler
  (``checks.py``): SCHEMA (a schema without ``properties`` is an open object),
  STATE (any JSON value, printed back exactly as received: its own text, kept
  by the reader, ``state_text.py``), ACTIVATE_VERSION (accepted as a no-op:
  objects here are append-only; said once per stream), BATCH (each record of
  its files goes down the RECORD path, ``batch_files.py``);
* RECORD takes a direct path to its sink for streams nothing transforms (no
  stream map, no flattening, no record metadata): the SDK's general path was
  about a fifth of the target's time at 100,000 audit logs
  (``benchmarks/README.md``).  It keeps every check and count the SDK makes
  (``_sdc`` fields removed, validation, key properties, tallies, the record
  metric, batch size and age); anything else goes through the SDK unchanged;
* a SIGTERM/SIGINT that arrives while a message (or a drain) is handled only
  sets a flag; the target stops at the next message boundary, where every sink
  is consistent: the SDK's own handler drained from inside the signal handler,
  in the middle of an upload, and wrote STATE for a batch that never reached S3.
  Either way the records received so far are written, their state printed, and
  one line says what happened;
* the state the SDK hands over after draining every sink goes to
  ``emit_state``, which the target overrides (state held back while a scan is
  open, proofs and manifest before the last one).

Each handler is one short delegation, wrapped in the stop guard once
(``_guarded``; a BATCH record by record), so the order of base classes decides
nothing.
"""

from __future__ import annotations

import signal
import sys
from collections.abc import Callable
from types import FrameType
from typing import TYPE_CHECKING, Any

from singer_sdk.mapper import SameRecordTransform
from singer_sdk.plugin_base import _ConfigInput
from singer_sdk.target_base import Target
from typing_extensions import override

from connector_common.lines import one_line
from connector_common.settings_env import environment_settings
from connector_common.settings_text import drop_empty_choices, numbers_from_text
from target_s3_endor.errors import RecordBeforeSchemaError, TargetS3EndorError
from target_s3_endor.input.batch_files import batch_records, batch_request
from target_s3_endor.input.checks import (
    activate_version_of,
    check_record_message,
    checked_schema_message,
    stream_label,
)
from target_s3_endor.input.log_text import install_printable_lines
from target_s3_endor.input.state_text import ReceivedState, received_state, write_state_line

if TYPE_CHECKING:
    from singer_sdk.sinks import Sink

#: The SDK's parsed ``--config`` input (files and ``ENV``), which the CLI overrides take.
ConfigInput = _ConfigInput


class MessageHandlers(Target):
    """Checked, guarded handlers for every Singer message type; the target's base class."""

    _activated_streams: set[str] | None = None
    _busy_depth = 0
    _stop_signal: int | None = None
    _stopping = False

    def __init__(self, **kwargs: Any) -> None:
        install_printable_lines()  # before the SDK's first line naming a stream
        super().__init__(**kwargs)
        self._direct_sinks: dict[str, Sink] = {}

    def drain_at_record_age(self, seconds: float) -> None:
        """Drain every sink once its oldest record is ``seconds`` old (``batch_max_age_seconds``).

        The SDK checks the age when a record arrives (``_handle_max_record_age``).
        """
        self._MAX_RECORD_AGE_IN_MINUTES = seconds / 60

    # Settings: an explicit null means "not set".

    @property  # the SDK's is a classproperty, read once by __init__ on the instance
    def _env_var_config(self) -> dict[str, Any]:
        # --config=ENV: a yes/no or integer typo is one line, not "false" or a traceback.
        schema = self.config_jsonschema
        self.append_builtin_config(schema)
        return environment_settings(schema, self._env_var_prefix)

    @override
    def _validate_config(self, *, raise_errors: bool = True) -> list[str]:
        # Dropped here, the schema's default fills it in (the SDK's validator does
        # that for absent keys), instead of the int(None) traceback it reached before.
        for name in [name for name, value in self._config.items() if value is None]:
            del self._config[name]
        # Environment variables, .env and Meltano hand number settings over as text.
        numbers_from_text(self._config, self.config_jsonschema)
        # Empty text is "not set" for a setting with a list of values too (format: "").
        drop_empty_choices(self._config, self.config_jsonschema)
        return super()._validate_config(raise_errors=raise_errors)

    # The five message types, each handled as one unit under the stop guard.

    @override
    def _process_record_message(self, message_dict: dict) -> None:
        self._guarded(self._record, message_dict)

    @override
    def _process_schema_message(self, message_dict: dict) -> None:
        self._guarded(self._schema, message_dict)

    @override
    def _process_state_message(self, message_dict: dict) -> None:
        self._guarded(self._state, message_dict)

    @override
    def _process_activate_version_message(self, message_dict: dict) -> None:
        self._guarded(self._activate_version, message_dict)

    @override
    def _process_batch_message(self, message_dict: dict) -> None:
        # Not one unit: each of its records is (the RECORD handler's guard), so a stop
        # while the target waits inside a BATCH file writes the records read so far and
        # prints only the state from before the BATCH.
        self._batch(message_dict)

    @override
    def process_endofpipe(self) -> None:
        self._guarded(lambda _: super(MessageHandlers, self).process_endofpipe(), None)

    def _schema(self, message_dict: dict) -> None:
        super()._process_schema_message(checked_schema_message(message_dict))

    def _state(self, message_dict: dict) -> None:
        """Keep the state as received, encoded now: the SDK prints it after the next drain."""
        self._assert_line_requires(message_dict, requires={"value"})
        value = message_dict["value"]
        if not isinstance(value, ReceivedState):  # not through StrictLineReader: encode it
            message_dict = {**message_dict, "value": received_state(value)}
        super()._process_state_message(message_dict)

    def _activate_version(self, message_dict: dict) -> None:
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

    def _batch(self, message_dict: dict) -> None:
        """Hand every record of the batch files to the RECORD path, one at a time."""
        request = batch_request(message_dict)
        if request.stream not in self.mapper.stream_maps:
            msg = (
                f"a BATCH message for stream {stream_label(request.stream)} came before that "
                "stream's SCHEMA: fix the tap (Singer needs the SCHEMA first)"
            )
            raise RecordBeforeSchemaError(msg)
        stream = request.stream
        count = 0
        for count, record in enumerate(batch_records(request), start=1):  # noqa: B007
            self._process_record_message({"type": "RECORD", "stream": stream, "record": record})
        self.logger.info(
            "Read %d records of stream %s from %d BATCH files",
            count,
            stream_label(stream),
            len(request.manifest),
        )

    @override
    def _assert_sink_exists(self, stream_name: str) -> None:
        """The SDK's check, with the name quoted as ``repr`` (its own line writes it raw)."""
        if not self.sink_exists(stream_name):
            msg = (
                f"a RECORD message for stream {stream_label(stream_name)} came before that "
                "stream's SCHEMA: fix the tap (Singer needs the SCHEMA first)"
            )
            raise RecordBeforeSchemaError(msg)

    # RECORD: the direct path for untransformed streams.

    def _direct_sink(self, stream_name: str) -> Sink | None:
        """The stream's sink if its records need no transform, else None (SDK path)."""
        sink = self._sinks_active.get(stream_name)
        if sink is None or sink.include_sdc_metadata_properties:
            return None
        maps = self.mapper.stream_maps.get(stream_name) or []
        if len(maps) != 1:
            return None
        only = maps[0]
        if type(only) is not SameRecordTransform or only.flattening_enabled:
            return None
        if only.stream_alias != stream_name:
            return None
        return sink

    def _record(self, message_dict: dict) -> None:
        """Hand the record to its sink directly, or to the SDK when anything else is needed."""
        stream_name = message_dict.get("stream")
        record = message_dict.get("record")
        if not isinstance(stream_name, str) or not isinstance(record, dict):
            check_record_message(message_dict)  # names what is wrong in one line
            super()._process_record_message(message_dict)
            return
        sink = self._direct_sinks.get(stream_name)
        # A new SCHEMA replaces the active sink: the cached one is then stale.
        if sink is None or sink is not self._sinks_active.get(stream_name):
            sink = self._direct_sink(stream_name)
            if sink is None:
                self._direct_sinks.pop(stream_name, None)
                super()._process_record_message(message_dict)
                return
            self._direct_sinks[stream_name] = sink

        sink._remove_sdc_metadata_from_record(record)
        sink._validate_and_parse(record)
        sink._singer_validate_message(record)
        sink.tally_record_read()
        sink.process_record(record, {})
        sink.record_counter_metric.increment()
        if sink.is_full:
            self.logger.info(
                "Target sink for %s is full. Current size is '%s'. Draining...",
                stream_label(sink.stream_name),
                sink.current_size,
            )
            self.drain_one(sink)
        self._handle_max_record_age()

    # STATE out.

    @override
    def _write_state_message(self, state: Any) -> None:
        """The SDK's state after draining every sink: handed to ``emit_state``."""
        self.emit_state(state)

    def emit_state(self, state: Any) -> None:
        """Print the state (the target overrides this to hold some back)."""
        self.print_state(state)

    def print_state(self, state: Any) -> None:
        """Write one STATE line: the value's own text as received."""
        if not isinstance(state, ReceivedState):  # only ever set through the handler above
            state = received_state(state)
        self.logger.debug("Emitting completed target state %s", state.line.decode().strip())
        write_state_line(state)

    def latest_state(self) -> Any:
        """The newest STATE received (None: none yet)."""
        return self._latest_state

    @property
    def stop_signal(self) -> int | None:
        """The signal that asked the target to stop, if one did."""
        return self._stop_signal

    # Signals: stop at a message boundary.

    @override
    def _handle_termination(self, signum: int, frame: FrameType | None) -> None:
        self._stop_signal = signum
        if self._busy_depth:
            self.logger.warning(
                "Received %s: stopping after the message being handled",
                signal.Signals(signum).name,
            )
            return
        self._stop_now()

    def write_waiting_objects(self) -> None:
        """Write what waits for the end of the input (open scans); called before the last drain."""

    def _stop_now(self) -> None:
        """Write what has arrived, print its state, say so and exit ``128 + signal``."""
        if self._stopping or self._stop_signal is None:
            return
        self._stopping = True
        name = signal.Signals(self._stop_signal).name
        self.logger.warning("Received %s: writing the records received so far", name)
        try:
            self.write_waiting_objects()
            self.drain_all(is_endofpipe=True)
        except TargetS3EndorError as exc:
            self.logger.error(
                "Stopped by %s; the last records could not be written (%s) and no state was "
                "written for them: run again from the last state",
                name,
                one_line(str(exc)),
            )
            sys.exit(1)
        self.logger.warning(
            "Stopped by %s: every record received is in S3 and its state was written", name
        )
        sys.exit(128 + self._stop_signal)

    def _guarded(self, handler: Callable[[Any], None], message: Any) -> None:
        """Handle one message as a unit; if a signal came meanwhile, stop after it.

        A plain try/finally rather than a context manager: this runs for every record.
        """
        self._busy_depth += 1
        try:
            handler(message)
        finally:
            self._busy_depth -= 1
        if self._busy_depth == 0 and self._stop_signal is not None:
            self._stop_now()
