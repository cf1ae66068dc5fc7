"""The container around an object's one member: zip, gzip, or none.

Both zip and gzip hold one raw deflate stream plus a CRC-32 of the member's
bytes; this module writes that stream and frames it, instead of the standard
library's ``zipfile`` and ``gzip`` writers.  The reason is the thread that
compresses while records arrive (``streaming.py``): those writers call
``zlib.crc32`` on each chunk, which lets go of the GIL for inputs over 5 KiB,
and getting the GIL back from a main thread busy parsing records cost the
worker about half its time.  The worker fell behind and held the parser back:
100,000 audit logs took 2.6 s with ``zipfile`` and 2.0 s with the CRC
computed in slices that keep the GIL (measured in benchmarks/).  Deflate
itself still runs without the GIL, once per chunk.

The zip archive is what ``zipfile`` writes to a seekable file: a local header
patched with the CRC and sizes at the end (no data descriptor), the central
directory and the end record; ZIP64 fields when the caller expects more than
2 GiB (zipfile's limit).  The gzip stream is what ``gzip.GzipFile`` writes with ``mtime=0``.
"""

from __future__ import annotations

import re
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import IO, Protocol

# zlib.crc32 keeps the GIL for inputs of at most 5 KiB.
CRC_SLICE = 4096
ZIP_VERSION = 20  # deflate
ZIP64_VERSION = 45
ZIP_UNIX = 3
UTF8_NAME_FLAG = 0x800
MAX_32 = 0xFFFFFFFF  # a 32-bit field's "see the ZIP64 field" marker
# Sizes and offsets past this use ZIP64 fields, as in zipfile (ZIP64_LIMIT).
ZIP64_LIMIT = (1 << 31) - 1


# What no member name may hold: a path separator, a drive letter or a control
# character (``..`` and leading dots are checked apart).
_UNSAFE_MEMBER = re.compile(r"[/\\:\x00-\x1f\x7f]")


def check_member_name(name: str) -> str:
    """Refuse a member name that an unzip could turn into a path outside its folder.

    The encoding layer passes names made by ``naming.member_file_name``; this is
    the container's own guard, so no caller can write ``../../x`` into a header.
    """
    if not name or name.startswith(".") or ".." in name or _UNSAFE_MEMBER.search(name):
        msg = f"unsafe member name {name!r}: make it with naming.member_file_name"
        raise ValueError(msg)
    return name


def crc32_keeping_gil(data: bytes | memoryview, value: int = 0) -> int:
    """``zlib.crc32`` over ``data`` in slices small enough not to release the GIL."""
    view = memoryview(data)
    for start in range(0, len(view), CRC_SLICE):
        value = zlib.crc32(view[start : start + CRC_SLICE], value)
    return value


# The range of a zip header's MS-DOS date: years 1980 to 2107, to two seconds.
ZIP_EARLIEST = datetime(1980, 1, 1)
ZIP_LATEST = datetime(2107, 12, 31, 23, 59, 58)


def zip_time(moment: datetime) -> datetime:
    """``moment``'s wall-clock fields, clamped to what a zip header can hold.

    The member's time is the batch's first record time, which a record may put
    anywhere in 0001..9999 (epoch 0, Go's zero time): ``struct`` refused the year
    field with a traceback, every run.  The header's time is only metadata; the
    records inside are written as they came.
    """
    naive = moment.replace(tzinfo=None)
    return min(max(naive, ZIP_EARLIEST), ZIP_LATEST)


class MemberWriter(Protocol):
    """Where a member's bytes go: written in order, then closed once."""

    def write(self, data: bytes) -> None:
        """Add bytes to the member."""

    def close(self) -> None:
        """Finish the container; the output file stays open."""


class PlainMember:
    """No container: the member's bytes are the object."""

    def __init__(self, out: IO[bytes]) -> None:
        self._out = out

    def write(self, data: bytes) -> None:
        """Write the bytes as they are."""
        self._out.write(data)

    def close(self) -> None:
        """Nothing to finish."""


class _DeflateMember:
    """A raw deflate stream and its CRC, written to ``out`` after a header."""

    def __init__(self, out: IO[bytes], level: int) -> None:
        self._out = out
        self._deflate = zlib.compressobj(level, zlib.DEFLATED, -zlib.MAX_WBITS)
        self._crc = 0
        self._size = 0
        self._compressed = 0
        self._closed = False

    def write(self, data: bytes) -> None:
        """Compress and write; the CRC and sizes are kept for the trailer."""
        self._crc = crc32_keeping_gil(data, self._crc)
        self._size += len(data)
        self._put(self._deflate.compress(data))

    def _put(self, compressed: bytes) -> None:
        if compressed:
            self._out.write(compressed)
            self._compressed += len(compressed)

    def _flush(self) -> bool:
        """End the deflate stream; False if it was already ended."""
        if self._closed:
            return False
        self._closed = True
        self._put(self._deflate.flush())
        return True


class GzipMember(_DeflateMember):
    """One gzip member (RFC 1952), as ``gzip.GzipFile(..., mtime=0)`` writes it."""

    def __init__(self, out: IO[bytes], member_name: str, level: int) -> None:
        super().__init__(out, level)
        name = check_member_name(member_name).removesuffix(".gz")
        try:
            encoded = name.encode("latin-1")
        except UnicodeEncodeError:
            encoded = b""  # as gzip.GzipFile does
        flags = 0x08 if encoded else 0
        extra_flags = 2 if level == zlib.Z_BEST_COMPRESSION else 4 if level == 1 else 0
        header = struct.pack("<BBBBIBB", 0x1F, 0x8B, 8, flags, 0, extra_flags, 255)
        out.write(header + (encoded + b"\0" if encoded else b""))

    def close(self) -> None:
        """End the stream and write the CRC and size trailer."""
        if self._flush():
            self._out.write(struct.pack("<II", self._crc, self._size & MAX_32))


class ZipMember(_DeflateMember):
    """A zip archive of one deflated member, as ``zipfile`` writes it to a seekable file.

    ``zip64``: write ZIP64 size fields, needed if the member may pass 2 GiB
    (decided up front, like ``force_zip64``, because the local header comes first).
    """

    def __init__(
        self,
        out: IO[bytes],
        member_name: str,
        modified: datetime,
        level: int,
        *,
        zip64: bool = False,
    ) -> None:
        super().__init__(out, level)
        self._name = check_member_name(member_name).encode("utf-8")
        self._flags = 0 if member_name.isascii() else UTF8_NAME_FLAG
        self._version = ZIP64_VERSION if zip64 else ZIP_VERSION
        self._zip64 = zip64
        modified = zip_time(modified)
        self._dos_time = (modified.hour << 11) | (modified.minute << 5) | (modified.second // 2)
        self._dos_date = ((modified.year - 1980) << 9) | (modified.month << 5) | modified.day
        self._header_at = out.tell()  # 0: the archive starts its file
        out.write(self._local_header())

    def _local_header(self) -> bytes:
        if self._zip64:
            sizes = (MAX_32, MAX_32)
            extra = struct.pack("<HHQQ", 1, 16, self._size, self._compressed)
        else:
            sizes = (self._compressed, self._size)
            extra = b""
        fixed = struct.pack(
            "<IHHHHHIIIHH", 0x04034B50, *self._shared_fields(), *sizes, len(self._name), len(extra)
        )
        return fixed + self._name + extra

    def _shared_fields(self) -> tuple[int, ...]:
        """What the local header and the central directory entry both say, in their order."""
        return (
            self._version,
            self._flags,
            zlib.DEFLATED,
            self._dos_time,
            self._dos_date,
            self._crc,
        )

    def close(self) -> None:
        """End the stream, fill in the local header, write the central directory."""
        if not self._flush():
            return
        if not self._zip64 and max(self._size, self._compressed) > ZIP64_LIMIT:
            msg = "zip member passed 2 GiB without ZIP64 fields"
            raise OverflowError(msg)
        end_of_data = self._out.tell()
        self._out.seek(self._header_at)
        self._out.write(self._local_header())
        self._out.seek(end_of_data)
        self._out.write(self._central_directory(end_of_data))

    def _central_directory(self, directory_at: int) -> bytes:
        big = max(self._size, self._compressed) > ZIP64_LIMIT
        extra = struct.pack("<HHQQ", 1, 16, self._size, self._compressed) if big else b""
        entry = (
            struct.pack(
                "<IBBHHHHHIIIHHHHHII",
                0x02014B50,
                self._version,  # made by: this version, on Unix
                ZIP_UNIX,
                *self._shared_fields(),
                MAX_32 if big else self._compressed,
                MAX_32 if big else self._size,
                len(self._name),
                len(extra),
                0,  # comment length
                0,  # disk number
                0,  # internal attributes
                0o644 << 16,
                self._header_at,
            )
            + self._name
            + extra
        )
        return entry + _end_records(directory_at, len(entry))


def _end_records(directory_at: int, directory_size: int) -> bytes:
    """The end-of-central-directory record, preceded by ZIP64 ones past 2 GiB."""
    records = b""
    if directory_at > ZIP64_LIMIT:
        zip64_end_at = directory_at + directory_size
        records += struct.pack(
            "<IQHHIIQQQQ", 0x06064B50, 44, ZIP64_VERSION, ZIP64_VERSION, 0, 0, 1, 1,
            directory_size, directory_at,
        )  # fmt: skip
        records += struct.pack("<IIQI", 0x07064B50, 0, zip64_end_at, 1)
    records += struct.pack(
        "<IHHHHIIH", 0x06054B50, 0, 0, 1, 1, directory_size, min(directory_at, MAX_32), 0
    )
    return records


@dataclass(frozen=True)
class Container:
    """One ``compression`` setting: how an object wraps its member.  A new one is one entry."""

    name: str
    #: The object's Content-Type; None: the member's own (no container).
    content_type: str | None
    #: The key's extension, from the member's suffix.
    extension: Callable[[str], str]
    #: ``(out, member_name, modified, level, zip64) -> writer`` on the seekable file ``out``.
    open: Callable[[IO[bytes], str, datetime, int, bool], MemberWriter]


CONTAINERS: dict[str, Container] = {
    container.name: container
    for container in (
        Container(
            "zip",
            "application/zip",
            lambda _suffix: ".zip",
            lambda out, name, modified, level, zip64: ZipMember(
                out, name, modified, level, zip64=zip64
            ),
        ),
        Container(
            "gzip",
            "application/gzip",
            lambda suffix: suffix + ".gz",
            lambda out, name, _modified, level, _zip64: GzipMember(out, name, level),
        ),
        Container(
            "none",
            None,
            lambda suffix: suffix,
            lambda out, _name, _modified, _level, _zip64: PlainMember(out),
        ),
    )
}


def open_member(
    out: IO[bytes],
    compression: str,
    member_name: str,
    modified: datetime,
    level: int,
    *,
    zip64: bool = False,
) -> MemberWriter:
    """The writer for ``compression`` (zip, gzip, none) on the seekable file ``out``."""
    return CONTAINERS[compression].open(out, member_name, modified, level, zip64)
