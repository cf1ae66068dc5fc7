"""A direct path from a RECORD message to its sink, for streams nothing transforms.

The SDK's ``_process_record_message`` serves every possible target: for each
record it copies it, runs it through the stream's map chain, asks for the sink
again, builds a context, decides on ``_sdc`` metadata and calls five hooks.
For a stream with no stream map, no flattening and no record metadata, the
result is the same as handing the record straight to the sink, and that costs
a fraction: at 100,000 audit logs the SDK's general path was about a fifth of
the target's time (see ``benchmarks/README.md``).

So a stream takes the direct path only when its map chain is the SDK's
identity map and ``add_record_metadata`` is off; anything else (stream maps,
flattening, metadata, a record before its schema) goes through the SDK
unchanged, errors included, and a malformed message (a stream that is not a
string, a record that is not an object) ends in ``message_checks``' one line
instead of the SDK's ``TypeError``.  The direct path keeps every
check and count the SDK makes: ``_sdc`` fields removed, schema validation, key
properties present, read tallies, the record-count metric, the batch size and
age checks.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from singer_sdk.mapper import SameRecordTransform
from singer_sdk.target_base import Target
from typing_extensions import override

from target_s3_endor.input.checks import check_record_message

if TYPE_CHECKING:
    from singer_sdk.sinks import Sink


class DirectRecordTarget(Target):
    """A target whose untransformed streams skip the SDK's per-record map machinery."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._direct_sinks: dict[str, Sink] = {}

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

    @override
    def _process_record_message(self, message_dict: dict) -> None:
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
                "Target sink for '%s' is full. Current size is '%s'. Draining...",
                sink.stream_name,
                sink.current_size,
            )
            self.drain_one(sink)
        self._handle_max_record_age()
