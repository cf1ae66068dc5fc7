"""Batches spooled to temporary files, so memory does not grow with batch size.

A spool holds one future object's records as JSON lines (one record a line, as
msgspec encodes it).  Keeping the records unframed and uncompressed lets the
encoder produce any format from them later, and lets a scan's partial object be
uploaded and the spool kept growing for the complete one.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from datetime import datetime
from typing import IO

COPY_CHUNK = 1 << 20


class Spool:
    """An append-only temporary file of JSON lines with its counts."""

    def __init__(self, first_time: datetime, spool_dir: str | None = None) -> None:
        self.first_time = first_time
        self.records = 0
        self.bytes = 0
        self._file: IO[bytes] = tempfile.TemporaryFile(  # noqa: SIM115 - closed in close()
            mode="w+b", dir=spool_dir, prefix="target-s3-endor-"
        )

    def append(self, line: bytes) -> None:
        """Add one encoded record (ending in a newline)."""
        self._file.write(line)
        self.records += 1
        self.bytes += len(line)

    def chunks(self) -> Iterator[bytes]:
        """Read everything spooled so far in large chunks; appending may go on after."""
        self._file.flush()
        self._file.seek(0)
        try:
            while chunk := self._file.read(COPY_CHUNK):
                yield chunk
        finally:
            self._file.seek(0, 2)

    def lines(self) -> Iterator[bytes]:
        """Read the spooled records one line at a time (for formats that re-shape them)."""
        self._file.flush()
        self._file.seek(0)
        try:
            yield from self._file
        finally:
            self._file.seek(0, 2)

    def close(self) -> None:
        """Delete the temporary file."""
        self._file.close()
