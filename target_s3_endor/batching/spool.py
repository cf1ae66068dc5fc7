"""Batches spooled to temporary files, so memory does not grow with batch size.

A spool holds one future object's records as JSON lines (one record a line, as
msgspec encodes it).  Keeping the records unframed and uncompressed lets the
encoder produce any format from them later, and lets a scan's partial object be
uploaded and the spool kept growing for the complete one.

A scan's spool may stay open for a long time while thousands of other scans
are open too, more than a process may hold file handles for.  Such a spool is
made ``releasable``: a named file (``target-s3-endor-scan-*`` in the spool
directory) whose handle can be closed while it is idle and reopened when the
next record comes.  Other spools are anonymous files, which the system deletes
even if the process is killed.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import tempfile
import weakref
from collections.abc import Iterator
from datetime import datetime
from typing import IO

from target_s3_endor.temp_files import closed_at_exit, temporary_file

COPY_CHUNK = 1 << 20

# Named spool files not deleted yet: deleted at exit, whatever ended the run.
_NAMED_SPOOLS: weakref.WeakSet[Spool] = weakref.WeakSet()


@atexit.register
def _delete_named_spools() -> None:
    for spool in list(_NAMED_SPOOLS):
        spool.close()


class Spool:
    """An append-only temporary file of JSON lines with its counts."""

    def __init__(
        self, first_time: datetime, spool_dir: str | None = None, *, releasable: bool = False
    ) -> None:
        self.first_time = first_time
        self.records = 0
        self.bytes = 0
        self._path: str | None = None
        self._file: IO[bytes] | None
        if releasable:
            handle, self._path = tempfile.mkstemp(prefix="target-s3-endor-scan-", dir=spool_dir)
            self._file = os.fdopen(handle, "w+b")
            closed_at_exit(self._file)
            _NAMED_SPOOLS.add(self)
        else:
            self._file = temporary_file(spool_dir, "target-s3-endor-")

    def _handle(self) -> IO[bytes]:
        """The open file, reopened (positioned at its end) if it was released."""
        if self._file is None:
            if self._path is None:
                msg = "spool used after close"
                raise ValueError(msg)
            self._file = open(self._path, "r+b")  # noqa: SIM115, PTH123 - closed in release()
            closed_at_exit(self._file)
            self._file.seek(0, 2)
        return self._file

    def append(self, line: bytes) -> None:
        """Add one encoded record (ending in a newline)."""
        self._handle().write(line)
        self.records += 1
        self.bytes += len(line)

    def chunks(self) -> Iterator[bytes]:
        """Read everything spooled so far in large chunks; appending may go on after."""
        file = self._handle()
        file.flush()
        file.seek(0)
        try:
            while chunk := file.read(COPY_CHUNK):
                yield chunk
        finally:
            file.seek(0, 2)

    def line_chunks(self) -> Iterator[bytes]:
        """Like ``chunks``, but each chunk ends at the end of a line (for framers)."""
        for chunk in self.chunks():
            if chunk.endswith(b"\n"):
                yield chunk
            else:  # the rest of the line: chunks() reads on from the file's position
                yield chunk + self._handle().readline()

    def lines(self) -> Iterator[bytes]:
        """Read the spooled records one line at a time (for formats that re-shape them)."""
        file = self._handle()
        file.flush()
        file.seek(0)
        try:
            yield from file
        finally:
            file.seek(0, 2)

    @property
    def holds_handle(self) -> bool:
        """Whether the spool's file is open now."""
        return self._file is not None

    def release(self) -> None:
        """Close a releasable spool's handle until it is used again (the file stays)."""
        if self._path is not None and self._file is not None:
            self._file.close()
            self._file = None

    def close(self) -> None:
        """Delete the temporary file."""
        if self._file is not None:
            self._file.close()
            self._file = None
        if self._path is not None:
            _NAMED_SPOOLS.discard(self)
            path, self._path = self._path, None
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)  # noqa: PTH108
