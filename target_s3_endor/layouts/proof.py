"""The proof of completeness: what a reconciliation record is and where its proof lives.

A tap that reconciles its reads (tap-endorlabs, issue 19) emits one record on
the ``reconciliations`` stream after each window it has read and counted: the
window's (stream, namespace), bounds, the API's count and ``emitted_count``,
the number of data records it emitted for that (stream, namespace) since the
previous reconciliation record of the same pair.  The target writes that
record back, enriched with the keys of the objects that hold those records,
once every one of them is durable: the *proof*.  ``--verify`` reads the proof
and checks the bucket against it.  This module is the contract both sides
share (names, fields, where proofs go); it imports nothing of the target.

Where: ``{root}/_reconciliation/{YYYY}/{MM}/{DD}/{time}_{batch-id}.jsonl``, one
JSON object a line, dated by when the proof was written.  ``root`` is the
exporter root (``{prefix}/{exporter}``) in the Endor layout, and with
``layout: security-lake`` ``ext/{source}`` of the window's stream (its first
source name), the only prefix a custom source's provider role may write.  The
``_`` keeps it apart from data: no namespace takes that folder (endor.py
reserves it) and Hive-style readers (Athena, Glue) skip folders starting with
``_``, so the data tables never read proof lines as events.
"""

from __future__ import annotations

from datetime import datetime

from target_s3_endor.naming import PROOF_FOLDER

RECONCILIATION_STREAM = "reconciliations"
PROOF_SUFFIX = ".jsonl"
PROOF_CONTENT_TYPE = "application/x-ndjson"

# Fields the target adds to the tap's record.
OBJECTS = "objects"  # [{key, records, object_records}]
WRITTEN_COUNT = "written_count"


def proof_key(root: str, written_at: datetime, batch_id: str) -> str:
    """``{root}/_reconciliation/{YYYY}/{MM}/{DD}/{YYYYMMDDTHHMMSSZ}_{batch-id}.jsonl``."""
    day = written_at.strftime("%Y/%m/%d")
    stamp = written_at.strftime("%Y%m%dT%H%M%SZ")
    return f"{root}/{PROOF_FOLDER}/{day}/{stamp}_{batch_id}{PROOF_SUFFIX}"


def proof_prefix(root: str) -> str:
    """The prefix under which every proof object of ``root`` is listed."""
    return f"{root}/{PROOF_FOLDER}/"


def window_day(record: dict) -> str:
    """The UTC day (YYYY-MM-DD) a window is reported under in ``--verify``'s table.

    A time window's start; a scan read (no window) its first record's time,
    else when it was checked.
    """
    for field in ("window_start", "first_record_time", "checked_at"):
        value = record.get(field)
        if isinstance(value, str) and len(value) >= 10:
            return value[:10]
    return "unknown"
