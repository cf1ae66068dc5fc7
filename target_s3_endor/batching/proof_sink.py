"""The ``reconciliations`` stream's sink: its records close windows, they are not data.

Each record goes to the run's ``ProofWriter`` (proof.py), which writes
it back, with the keys of the objects holding the window, once they are all
durable.  So a tap's reconciliation records never land among the data.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, cast

from typing_extensions import override

from target_s3_endor.input.sink_hooks import UncheckedSink

if TYPE_CHECKING:
    from collections.abc import Sequence

    from singer_sdk.target_base import Target

    from target_s3_endor.batching.proof import ProofWriter


class ProofHost(Protocol):
    """What this sink needs of the target: the run's proof writer."""

    @property
    def proof_writer(self) -> ProofWriter:
        """The run's completeness proof."""


class ReconciliationSink(UncheckedSink):
    """Hands each reconciliation record to the proof writer; writes no object itself."""

    def __init__(
        self,
        target: Target,
        stream_name: str,
        schema: dict,
        key_properties: Sequence[str] | None,
    ) -> None:
        super().__init__(target, stream_name, schema, key_properties)
        self._close = cast("ProofHost", target).proof_writer.close

    @override
    def process_record(self, record: dict, context: dict) -> None:
        """Close the record's (stream, namespace) window."""
        self._close(record)

    @override
    def process_batch(self, context: dict) -> None:
        """Nothing to upload: proofs go out when their windows are durable (before STATE)."""
