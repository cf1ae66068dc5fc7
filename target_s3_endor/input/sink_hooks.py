"""The Sink hooks singer-sdk does not make public: validation, in one place.

Record validation for every data sink: jsonschema-rs instead of the SDK's validator.

The SDK validates with its own (slower) validator and parses date-time strings
into datetimes; here records are checked by ``validation.py`` and written back
exactly as they came in.  These are the two Sink hooks the SDK does not make
public (``_validate_and_parse``, ``_singer_validate_message``, ``_total_records_read``), listed in
``sdk_hooks.py``.
"""

from __future__ import annotations

from singer_sdk.sinks import Sink
from typing_extensions import override

from target_s3_endor.errors import BadInputError, MissingKeyError
from target_s3_endor.input.validation import RecordInvalid, SchemaError, validator_for


class ValidatingSink(Sink):
    """A sink whose records are checked against their SCHEMA and otherwise left as they are."""

    @override
    def get_validator(self) -> None:
        """Validation is done by ``_validate_and_parse``; see ``validation.py`` for how."""
        if not self.validate_schema:
            self._compiled = None
            return
        try:
            self._compiled = validator_for(self.schema)
        except SchemaError as exc:
            msg = (
                f"the SCHEMA of stream {self.stream_name!r} is not a valid JSON Schema ({exc}): "
                "fix the tap or set validate_records: false"
            )
            raise BadInputError(msg) from None

    @override
    def _validate_and_parse(self, record: dict) -> dict:
        """Check the record against its schema; leave every value as it arrived."""
        if self._compiled is not None:
            try:
                self._compiled(record)
            except RecordInvalid as exc:
                number = self._total_records_read + 1  # the SDK counts it after this check
                msg = (
                    f"record {number} of stream {self.stream_name!r} does not match "
                    f"its SCHEMA ({exc}): fix the tap or set validate_records: false"
                )
                raise BadInputError(msg) from None
        return record

    @override
    def _singer_validate_message(self, record: dict) -> None:
        """A record without a key property: named with the stream, each quoted with ``repr``.

        The SDK's own line names no stream and lists every key of the record, raw.
        """
        missing = [key for key in self.key_properties if key not in record]
        if missing:
            number = self._total_records_read + 1  # the SDK counts it after this check
            names = ", ".join(repr(key) for key in missing)
            msg = (
                f"record {number} of stream {self.stream_name!r} is missing one or more "
                f"key_properties ({names}): fix the tap"
            )
            raise MissingKeyError(msg)


class UncheckedSink(Sink):
    """A sink whose records are not validated (the ``reconciliations`` stream's, proof_sink.py)."""

    @override
    def get_validator(self) -> None:
        """No validator: its records are not validated, so their schema is never compiled.

        The SDK's default would compile it with ``jsonschema``, whose errors quote
        the schema's values (and end in a traceback) and whose default registry
        fetches a remote ``$ref`` (issue 24, ``input/reach.py``).
        """
        return

    @override
    def _validate_and_parse(self, record: dict) -> dict:
        """Keep every value as the tap wrote it: the proof repeats the record's own text."""
        return record
