"""Pending objects: an object's records held until it is written, behind one interface.

The sink decides which records go into which object and when an object is
written; the object decides how its bytes are made.  Two kinds:

* ``StreamingObject`` (``streaming.py``): framed and compressed on a second
  core while records arrive, finished once.  Day partitions use it, because
  deflating at drain time measured slower (see ``streaming.py``).
* ``SpooledObject`` (here): records spooled as JSON lines and encoded when
  the object is written.  A scan's object uses it, because any number of
  scans may be open at once and each waits on disk for its last finding; so
  does a SARIF object (its results are re-shaped from whole records) and a
  day partition when every streaming slot is taken.

Both frame JSON arrays with ``encoding.JsonArrayFramer`` and compress with
``containers.py``, so for the same records they give the same bytes.
"""

from __future__ import annotations

from datetime import datetime
from typing import IO, Any, Protocol

from target_s3_endor.batching.spool import Spool
from target_s3_endor.batching.streaming import (
    MAX_STREAMING_OBJECTS,
    BackgroundCompressor,
    StreamingObject,
)
from target_s3_endor.formats.encoding import ZIP64_ABOVE, ObjectFormat, write_object


class PendingObject(Protocol):
    """An object being filled: what the sink needs of either kind."""

    first_time: datetime

    @property
    def records(self) -> int:
        """Records appended so far."""

    def append(self, line: bytes) -> None:
        """Add one encoded record (a JSON line ending in a newline)."""

    def finish(self) -> IO[bytes]:
        """The object as it stands, rewound, ready to upload; the caller closes it."""

    def close(self) -> None:
        """Drop the object's temporary files."""


class SpooledObject:
    """Records spooled as JSON lines, encoded into an object whenever ``finish`` is called.

    ``finish`` may be called again after more ``append`` calls: each time gives
    the object holding every record so far.  ``releasable`` lets the spool's
    file handle go while idle (see ``spool.py``).
    """

    def __init__(
        self,
        first_time: datetime,
        object_format: ObjectFormat,
        member_name: str,
        *,
        spool_dir: str | None,
        level: int,
        sarif_options: dict[str, Any] | None = None,
        releasable: bool = False,
    ) -> None:
        self.first_time = first_time
        self._format = object_format
        self._member_name = member_name
        self._spool_dir = spool_dir
        self._level = level
        self._sarif_options = sarif_options or {}
        self.spool = Spool(first_time, spool_dir, releasable=releasable)

    @property
    def records(self) -> int:
        """Records appended so far."""
        return self.spool.records

    def append(self, line: bytes) -> None:
        """Add one encoded record to the spool."""
        self.spool.append(line)

    def finish(self) -> IO[bytes]:
        """Encode every record so far into a new temporary file; appending may go on."""
        return write_object(
            self.spool,
            self._format,
            self._member_name,
            spool_dir=self._spool_dir,
            sarif_options=self._sarif_options,
            level=self._level,
        )

    def close(self) -> None:
        """Delete the spool."""
        self.spool.close()


def batch_object(
    first_time: datetime,
    object_format: ObjectFormat,
    member_name: str,
    *,
    compressor: BackgroundCompressor,
    level: int,
    spool_dir: str | None,
    max_bytes: int,
) -> PendingObject:
    """A time-partitioned batch's object: streamed while the worker has a slot, else spooled."""
    if compressor.open_objects >= MAX_STREAMING_OBJECTS:
        return SpooledObject(
            first_time, object_format, member_name, spool_dir=spool_dir, level=level
        )
    return StreamingObject(
        first_time,
        object_format,
        member_name,
        compressor=compressor,
        level=level,
        spool_dir=spool_dir,
        # A partition ends within one record of batch_max_bytes; leave room for that.
        zip64=max_bytes > ZIP64_ABOVE // 2,
    )
