"""How ``format: ocsf`` reaches the sink: a per-stream object format and line encoder.

Kept apart from ``ocsf.py`` (the pure mapping) and from ``sinks.py`` (which
objects, when): the sink asks this module once per stream which format its
objects have and how a record becomes a line, and stays unaware of OCSF.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from target_s3_endor.formats.encoding import ObjectFormat, encode_record

OCSF = "ocsf"
LineEncoder = Callable[[dict[str, Any]], bytes]


def format_for(run_format: ObjectFormat, stream_name: str) -> ObjectFormat:
    """The format of a stream's batch objects: streams without an OCSF class keep plain JSON.

    Only batch objects change: a scan's object keeps the run's findings format,
    whichever sink writes it.
    """
    if run_format.format != OCSF:
        return run_format
    # Imported here: a run without format: ocsf starts without the OCSF mapping (issue 23).
    from target_s3_endor.formats.ocsf import mapper_for  # noqa: PLC0415

    if mapper_for(stream_name) is not None:
        return run_format
    return ObjectFormat("json", run_format.compression)


def line_encoder(stream_format: ObjectFormat, stream_name: str) -> LineEncoder:
    """Record to one JSON line: the OCSF event under ``format: ocsf``, else the record."""
    if stream_format.format != OCSF:
        return encode_record
    from target_s3_endor.formats.ocsf import mapper_for  # noqa: PLC0415

    mapper = mapper_for(stream_name)
    if mapper is None:
        return encode_record

    def encode_event(record: dict[str, Any]) -> bytes:
        # Records without a time of their own are dated by their arrival.
        return encode_record(mapper(record, datetime.now(UTC), stream_name))

    return encode_event
