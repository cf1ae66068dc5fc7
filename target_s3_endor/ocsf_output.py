"""How ``format: ocsf`` reaches the sink: a per-stream object format and line encoder.

Kept apart from ``ocsf.py`` (the pure mapping) and from ``sinks.py`` (which
objects, when): the sink asks this module once per stream which format its
objects have and how a record becomes a line, and stays unaware of OCSF.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from target_s3_endor.encoding import ObjectFormat, encode_record
from target_s3_endor.ocsf import mapper_for

if TYPE_CHECKING:
    from target_s3_endor.sinks import ObjectPlan

OCSF = "ocsf"
LineEncoder = Callable[[dict[str, Any]], bytes]


def plan_for_stream(plan: ObjectPlan, stream_name: str) -> ObjectPlan:
    """The plan a stream's sink uses: streams without an OCSF class keep plain JSON.

    A shallow copy: the compressor, run id, batch sequence and open scans stay
    shared.  Only ``other_format`` changes: any sink's drain writes the run's
    open scans, and their objects keep the findings format whichever sink drains.
    """
    if plan.other_format.format != OCSF or mapper_for(stream_name) is not None:
        return plan
    plain = ObjectFormat("json", plan.other_format.compression)
    return dataclasses.replace(plan, other_format=plain)


def line_encoder(plan: ObjectPlan, stream_name: str) -> LineEncoder:
    """Record to one JSON line: the OCSF event under ``format: ocsf``, else the record."""
    mapper = mapper_for(stream_name)
    if plan.other_format.format != OCSF or mapper is None:
        return encode_record

    def encode_event(record: dict[str, Any]) -> bytes:
        # Records without a time of their own are dated by their arrival.
        return encode_record(mapper(record, datetime.now(UTC), stream_name))

    return encode_event
