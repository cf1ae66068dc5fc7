"""The scans whose findings are still arriving: one registry per run, shared by every sink.

The SDK replaces a stream's sink when a new SCHEMA arrives for it, and drains
sinks whenever a batch is full, old, or a STATE must be written; findings of
one scan may also arrive interleaved with other scans'.  So a scan's spool
cannot live in a sink: it lives here, from the scan's first finding to its
``last`` one, whatever sink each finding came through.  ``sinks.py`` writes a
scan's object once, at its ``last`` finding or at the end of the input; this
module only keeps the scans.

Bounds: memory holds a few hundred bytes per open scan (its place and counts)
and a scan uuid per scan finished in this run (to tell a late finding from a
new scan); records are on disk.  At most ``MAX_OPEN_HANDLES`` spool files are
open at once: the least recently used spools let their handle go and reopen
it when their scan's next finding comes.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import IO, Any

from target_s3_endor.batching.pending import SpooledObject
from target_s3_endor.batching.spans import TimeSpan
from target_s3_endor.layouts import endor

MAX_OPEN_HANDLES = 64


@dataclass
class OpenScan:
    """A scan whose ``last`` finding has not arrived yet, and its object so far."""

    place: endor.ScanPlace
    key_stem: str
    pending: SpooledObject
    # The latest STATE received before the scan's first finding (None: none yet):
    # the newest state that may be printed while this scan is open.
    state_before: Any
    uploaded_records: int = 0
    #: Earliest and latest finding time, reported with the object.
    span: TimeSpan = field(default_factory=TimeSpan)

    @property
    def changed(self) -> bool:
        """Whether the scan holds records its object in S3 does not have yet."""
        return self.pending.records != self.uploaded_records


class ScanRegistry:
    """Open scans by scan uuid, in the order they opened."""

    def __init__(self, max_open_handles: int = MAX_OPEN_HANDLES) -> None:
        self._open: dict[str, OpenScan] = {}
        self._handles: OrderedDict[str, OpenScan] = OrderedDict()
        self._finished: set[str] = set()
        self._max_open_handles = max_open_handles

    def get(self, scan_uuid: str) -> OpenScan | None:
        """The open scan with this uuid, if there is one."""
        return self._open.get(scan_uuid)

    def was_finished(self, scan_uuid: str) -> bool:
        """Whether this scan's ``last`` finding already came in this run."""
        return scan_uuid in self._finished

    def open(self, scan: OpenScan) -> None:
        """Start keeping a scan (its new spool holds a file handle)."""
        self._open[scan.place.scan_uuid] = scan
        self._touch(scan)

    def append(self, scan: OpenScan, line: bytes) -> None:
        """Add one encoded finding to the scan's object."""
        scan.pending.append(line)
        self._touch(scan)

    def body(self, scan: OpenScan) -> IO[bytes]:
        """The scan's object with every finding so far, rewound; the caller closes it."""
        self._touch(scan)
        return scan.pending.finish()

    def finish(self, scan: OpenScan) -> None:
        """Forget a scan whose complete object is written, and delete its spool."""
        uuid = scan.place.scan_uuid
        del self._open[uuid]
        self._handles.pop(uuid, None)
        self._finished.add(uuid)
        scan.pending.close()

    def open_scans(self) -> list[OpenScan]:
        """Every open scan, oldest first."""
        return list(self._open.values())

    def printable_state(self, latest: Any) -> Any:
        """The newest STATE that covers no finding of an open scan (None: none may be printed).

        A state received while a scan was open may be resumed from in the middle
        of that scan: the next run would send only the scan's later findings and
        write them alone at the scan's key.  So while scans are open, the state
        printed is the one received before the oldest open scan began.
        """
        for oldest in self._open.values():
            return oldest.state_before
        return latest

    def close(self, logger: logging.Logger) -> None:
        """At the end of the run: say which scans never got their ``last`` finding, drop them."""
        for scan in self._open.values():
            logger.warning(
                "Input ended before scan %s's last finding: its object holds the %d findings "
                "received; no state received since it began was written, so a run resumed "
                "from the last state sends the scan again",
                scan.place.scan_uuid,
                scan.pending.records,
            )
            scan.pending.close()
        self._open.clear()
        self._handles.clear()

    def _touch(self, scan: OpenScan) -> None:
        """Count the scan's spool as just used; let the least recently used handles go."""
        uuid = scan.place.scan_uuid
        self._handles[uuid] = scan
        self._handles.move_to_end(uuid)
        while len(self._handles) > self._max_open_handles:
            _, idle = self._handles.popitem(last=False)
            idle.pending.spool.release()
