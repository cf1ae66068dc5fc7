"""What one object durably written reports: the observer hook of the run's upload path.

``batching.run.RunContext.upload`` is the one place an object is written; it
calls every observer registered with ``on_object_written`` with an
``ObjectWritten``, after S3 acknowledged the object and before any state
covering its records is printed.  The run summary and the completeness proof
are observers.  Here, below both, so that neither imports the batching layer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class ObjectWritten:
    """One object durably in S3: what it holds and where (for summaries and reconciliation)."""

    key: str
    stream: str
    #: The namespace (layout: endor; ``_unpartitioned`` for the fallback folder)
    #: or the Security Lake source name (layout: security-lake).
    partition: str
    records: int
    #: Earliest and latest record time in the object (None when no record had one).
    first_time: datetime | None
    last_time: datetime | None
    bytes: int
    #: Which pending object this was, as the sink named it when counting its records for the
    #: completeness proof (batching/proof.py); None: the key itself names it (a scan's).
    pending: str | None = None


#: Called once per object written; see the module docstring for when.
ObjectObserver = Callable[[ObjectWritten], None]
