"""The ``reconciliations`` stream: written by the other streams as they check their reads.

It reads nothing itself: each data stream emits a record here after the
records of every window (or scan) it checked against the API's count, through
``write_checked`` (see ``reconciliation`` for the contract).  Selected by
default like any stream; deselected, nothing is written and the checks still
run (a shortfall still stops the run).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, ClassVar

from singer_sdk import Stream
from typing_extensions import override

from tap_endorlabs.reconciliation import STREAM_NAME

_TIME = {"type": ["string", "null"], "format": "date-time"}
_COUNT = {"type": "integer"}

SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": True,
    "properties": {
        "uuid": {"type": "string"},
        "stream": {"type": "string"},
        "namespace": {"type": "string"},
        "store": {"type": ["string", "null"]},
        "window_start": _TIME,
        "window_end": _TIME,
        "scan_uuid": {"type": ["string", "null"]},
        "check": {"type": "string"},
        "api_count": _COUNT,
        "read_count": _COUNT,
        "emitted_count": _COUNT,
        "first_record_time": _TIME,
        "last_record_time": _TIME,
        "checked_at": {"type": "string", "format": "date-time"},
        "tenant_meta": {
            "type": "object",
            "additionalProperties": True,
            "properties": {"namespace": {"type": "string"}},
        },
        "meta": {
            "type": "object",
            "additionalProperties": True,
            "properties": {"create_time": {"type": "string", "format": "date-time"}},
        },
    },
    "required": ["uuid", "stream", "namespace", "check", "api_count", "checked_at"],
}


class ReconciliationsStream(Stream):
    """One record per window or scan the tap read and checked against the API's count."""

    name = STREAM_NAME
    primary_keys: ClassVar[list[str]] = ["uuid"]
    replication_key = None

    _schema_written = False

    def __init__(self, tap: Any) -> None:
        super().__init__(tap=tap, schema=SCHEMA)

    @override
    def get_records(self, context: Mapping[str, Any] | None) -> Iterable[dict[str, Any]]:
        # Its records are written by the data streams, as they check their reads.
        return ()

    @override
    def _write_schema_message(self) -> None:
        # Once per run: a data stream writes it before its first check, or the
        # SDK when it syncs this stream first; never again mid-run.
        if self._schema_written:
            return
        self._schema_written = True
        super()._write_schema_message()

    def write_checked(self, record: dict[str, Any]) -> None:
        """Write one reconciliation record now (after the records it covers)."""
        self._write_schema_message()
        self._write_record_message(record)
