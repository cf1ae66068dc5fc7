"""The proof in the bucket: each reconciled window written back with the keys that hold it.

The tap's rule (layouts/proof.py): a reconciliation record covers exactly the
records of its (stream, namespace) the tap emitted since the previous
reconciliation record of that pair.  So this module keeps, per (stream,
namespace), the *open window*: every data record the sinks receive is counted
against the pending object it went into (``count``, via
``RunContext.count_for_proof``).  The sinks name that object: a scan's by its
key (fixed from its first finding), a batch's by its folder and the sink (its
file name is given at upload, and after a changed SCHEMA two sinks of a stream
may each fill an object for one folder), and hand the name to the upload.
When an object becomes durable (``wrote``, an observer of ``RunContext.upload``),
the counts waiting on that name become (key, records) entries of their windows.

A reconciliation record closes its window (``close``).  Its count of records
received must equal the tap's ``emitted_count``, or the run stops with one line
before any later STATE: a proof that does not add up is never written.  The
window is *ready* once no record of it waits in a pending object.  ``flush``
writes the ready windows as JSON lines (one object per proof root) and is
called before every STATE goes out and at the end of the input, so a state is
never handed back before the proof of the windows it covers is durable.  Scans
still open hold the state back already (scans.py), and a window whose records
sit in an open scan was closed after that scan began, so it is covered too.

Memory: a counter per (stream, namespace, partition) with records waiting, and
the windows closed since the last flush; nothing per record.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import IO, TYPE_CHECKING, Any

import msgspec

from target_s3_endor.errors import BadInputError, TargetS3EndorError
from target_s3_endor.layouts import proof as proof_layout

if TYPE_CHECKING:
    from target_s3_endor.storage.written import ObjectWritten

#: ``put(key, body, content_type) -> uri``: how a proof object reaches S3.
Put = Callable[[str, IO[bytes], str], str]
#: (stream, a scan's key or a batch's folder): the pending object a record went into.
Partition = tuple[str, str]
Pair = tuple[str, Any]  # (stream, namespace)


def _enc_hook(value: Any) -> Any:
    """The SDK parses date-times: write them back in RFC 3339 ``Z`` form."""
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    return str(value)


_encode = msgspec.json.Encoder(enc_hook=_enc_hook, decimal_format="number").encode


@dataclass
class Window:
    """Records of one (stream, namespace) since its previous reconciliation."""

    received: int = 0
    #: partition -> records of this window still in that pending object.
    waiting: dict[Partition, int] = field(default_factory=dict)
    #: key -> [records of this window, records in the object].
    objects: dict[str, list[int]] = field(default_factory=dict)
    record: dict[str, Any] | None = None  # the reconciliation record, once closed

    @property
    def ready(self) -> bool:
        """Closed, and every record of it is in an object written to S3."""
        return self.record is not None and not self.waiting


class ProofWriter:
    """Attributes records to windows and objects; writes each window's proof when it is durable."""

    def __init__(
        self, put: Put, root_for_stream: Callable[[str], str], next_batch_id: Callable[[], str]
    ) -> None:
        self._put = put
        self._root_for_stream = root_for_stream
        self._next_batch_id = next_batch_id
        self._open: dict[Pair, Window] = {}
        #: partition -> the windows with records in its pending object (in order).
        self._by_partition: dict[Partition, list[Window]] = {}
        self._closed: list[Window] = []
        #: Proof keys written in this run.
        self.keys: list[str] = []
        self.windows_written = 0

    def count(self, stream: str, namespace: Any, partition: str) -> None:
        """One record of ``stream`` for ``namespace`` went into the object at/in ``partition``."""
        window = self._open.get((stream, namespace))
        if window is None:
            window = self._open[(stream, namespace)] = Window()
        window.received += 1
        token = (stream, partition)
        waiting = window.waiting.get(token)
        if waiting is None:
            window.waiting[token] = 1
            self._by_partition.setdefault(token, []).append(window)
        else:
            window.waiting[token] = waiting + 1

    def wrote(self, written: ObjectWritten) -> None:
        """An object is durable in S3: its waiting records join their windows' objects."""
        self.attribute(written.stream, written.key, written.records, written.pending)

    def attribute(self, stream: str, key: str, records: int, pending: str | None = None) -> None:
        """The pending object named ``pending`` (else ``key``) is durable at ``key``."""
        partition = (stream, key if pending is None else pending)
        for window in self._by_partition.pop(partition, ()):
            share = window.waiting.pop(partition)
            entry = window.objects.setdefault(key, [0, records])
            entry[0] += share
            entry[1] = records  # a scan's object rewritten with more: the latest count

    def close(self, record: dict[str, Any]) -> None:
        """A reconciliation record: close its (stream, namespace) window.

        Raises:
            BadInputError: the tap's ``emitted_count`` is not what the target received.
        """
        stream, namespace = record.get("stream"), record.get("namespace")
        emitted = record.get("emitted_count")
        uuid = record.get("uuid")
        if not (isinstance(stream, str) and isinstance(uuid, str) and _is_count(emitted)):
            msg = (
                f"a {proof_layout.RECONCILIATION_STREAM} record lacks a string uuid or stream "
                "or a whole-number emitted_count: no proof can be written for it; fix the tap"
            )
            raise BadInputError(msg)
        window = self._open.pop((stream, namespace), None) or Window()
        if window.received != emitted:
            msg = (
                f"reconciliation {record.get('uuid')} of stream {stream!r} namespace "
                f"{namespace!r} says the tap emitted {emitted} records since the previous one, "
                f"but the target received {window.received}: no proof is written and no later "
                "state goes out; check the tap (or what runs between tap and target)"
            )
            raise BadInputError(msg)
        window.record = record
        self._closed.append(window)

    @property
    def waiting_windows(self) -> int:
        """Closed windows whose records are not all durable yet."""
        return sum(1 for window in self._closed if not window.ready)

    def flush(self) -> list[str]:
        """Write the proof of every ready window (one object per root); returns the keys."""
        ready = [window for window in self._closed if window.ready]
        if not ready:
            return []
        self._closed = [window for window in self._closed if not window.ready]
        now = datetime.now(UTC)
        by_root: dict[str, list[bytes]] = {}
        for window in ready:
            assert window.record is not None
            count = sum(share for share, _ in window.objects.values())
            if count != window.record.get("emitted_count"):  # received matched at close
                msg = (
                    f"reconciliation {window.record.get('uuid')}: the target wrote {count} "
                    f"records of the window, the tap emitted {window.record.get('emitted_count')}:"
                    " no proof is written; this is a bug in the target, please report it"
                )
                raise TargetS3EndorError(msg)
            line = _encode(proof_record(window.record, window.objects, now)) + b"\n"
            by_root.setdefault(self._root_for_stream(str(window.record["stream"])), []).append(line)
        written = []
        for root, lines in by_root.items():
            key = proof_layout.proof_key(root, now, self._next_batch_id())
            self._put(key, io.BytesIO(b"".join(lines)), proof_layout.PROOF_CONTENT_TYPE)
            written.append(key)
        self.keys.extend(written)
        self.windows_written += len(ready)
        return written


def _is_count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def proof_record(
    record: dict[str, Any], objects: dict[str, list[int]], written_at: datetime
) -> dict[str, Any]:
    """The tap's reconciliation record plus what the target wrote for it."""
    written = sum(share for share, _ in objects.values())
    return {
        **record,
        proof_layout.WRITTEN_COUNT: written,
        proof_layout.OBJECTS: [
            {"key": key, "records": share, "object_records": total}
            for key, (share, total) in objects.items()
        ],
        "target_check": "written_count == emitted_count",
        "written_at": written_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
