"""Bytes out: records from a spool framed (json / jsonl / sarif / ocsf) and compressed.

Every object holds exactly one member: ``<stream>.json`` (a JSON array),
``<stream>.jsonl`` or ``findings.sarif``, inside a zip, a gzip stream or as is.
Everything streams from the spool to a temporary output file in chunks, so
memory stays flat whatever the batch size.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import IO, Any, Protocol

import msgspec

from target_s3_endor.formats.containers import CONTAINERS, ZIP64_LIMIT, open_member
from target_s3_endor.json_text import encode_with_surrogates
from target_s3_endor.naming import member_file_name, stream_folder
from target_s3_endor.temp_files import temporary_file

# Objects above this many bytes get ZIP64 fields, decided before the member is
# written: a little under the container's limit, for the JSON array's framing.
ZIP64_ABOVE = ZIP64_LIMIT - (1 << 20)
# Level 3 deflates JSON about 2.2 times faster than zlib's default 6 for objects
# about 17% larger (measured on audit logs): an export on a small machine is
# bound by compression, while S3 bytes are cheap.  Users who want the smallest
# objects set 6 to 9.
DEFAULT_COMPRESSION_LEVEL = 3


class LineSource(Protocol):
    """Encoded records to write (``spool.Spool`` is one): read as often as needed."""

    first_time: datetime
    #: Bytes of JSON lines held.
    bytes: int

    def lines(self) -> Iterator[builtins.bytes]:
        """Every line, in order."""

    def line_chunks(self) -> Iterator[builtins.bytes]:
        """Every line, in order, several whole lines a chunk."""


def _enc_hook(value: Any) -> Any:
    """Write values JSON has no type for; datetimes keep RFC 3339 ``Z`` form."""
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    return str(value)


_encoder = msgspec.json.Encoder(enc_hook=_enc_hook, decimal_format="number")


def encode_record(record: dict[str, Any]) -> bytes:
    r"""One record as a JSON line (msgspec: fast, and exact for Decimal numbers).

    A lone surrogate (read from a ``\\udXXX`` escape) is written back as that escape.
    """
    try:
        return _encoder.encode(record) + b"\n"
    except UnicodeEncodeError:
        return encode_with_surrogates(record, _encoder) + b"\n"


class Framer(Protocol):
    """Turns whole JSON lines into a member's bytes as they come (``JsonArrayFramer`` ...)."""

    def frame(self, lines: builtins.bytes) -> builtins.bytes:
        """The member's next bytes, from one or more whole JSON lines."""

    def end(self) -> builtins.bytes:
        """What closes the member."""


def _sarif_chunks(lines: Iterator[bytes], options: dict[str, Any]) -> Iterator[bytes]:
    from target_s3_endor.formats.sarif import sarif_chunks  # noqa: PLC0415 - only for sarif

    return sarif_chunks(lines, **options)


@dataclass(frozen=True)
class Format:
    """One ``format`` setting: how records become a member.  A new one is one entry."""

    name: str
    member_suffix: str
    #: The object's Content-Type when it has no container.
    content_type: str
    #: A framer for records written as they come; None: the format re-shapes whole
    #: records (``chunks`` then makes the member from every line, spooled).
    framer: Callable[[], Framer] | None
    chunks: Callable[[Iterator[bytes], dict[str, Any]], Iterator[bytes]] | None = None
    #: The member's base name for a stream: its folder (``audit-logs``); SARIF ``findings``.
    member_base: Callable[[str], str] = field(default=stream_folder)


@dataclass(frozen=True)
class ObjectFormat:
    """What an object looks like: member framing and compression."""

    format: str
    compression: str

    def member_name(self, stream_name: str) -> str:
        """The member's file name (``findings.sarif``, ``audit-logs.json``).

        The stream's folder name (``naming.stream_folder``): one spelling in keys and
        members.  Unzipping writes this name to disk, so a foreign stream's name is
        a safe segment (``../../x`` -> ``x--<hash>.json``), as in keys.
        """
        fmt = FORMATS[self.format]
        return member_file_name(fmt.member_base(stream_name), fmt.member_suffix)

    @property
    def extension(self) -> str:
        """The key's extension: ``.zip``, ``.json.gz``, ``.jsonl`` ..."""
        return CONTAINERS[self.compression].extension(FORMATS[self.format].member_suffix)

    @property
    def content_type(self) -> str:
        """The object's Content-Type."""
        container = CONTAINERS[self.compression].content_type
        return container or FORMATS[self.format].content_type


class JsonArrayFramer:
    """Frames JSON lines as one JSON array without parsing them: the only place this is done.

    Fed whole lines (each ending in a newline), it puts ``[`` or ``,`` before
    them and turns the newlines between them into commas; ``end`` closes the
    array (``[]`` if nothing came).  Both kinds of pending object use it: a
    streaming object as records arrive, a spooled one at drain time.
    """

    def __init__(self) -> None:
        self._started = False

    def frame(self, lines: bytes) -> bytes:
        """The array's next elements, from one or more whole JSON lines."""
        if not lines:
            return b""
        head = b"," if self._started else b"["
        self._started = True
        return head + lines[:-1].replace(b"\n", b",")

    def end(self) -> bytes:
        """What closes the array."""
        return b"]" if self._started else b"[]"


class JsonLinesFramer:
    """JSON lines are the member's bytes as they are."""

    def frame(self, lines: bytes) -> bytes:
        """The lines unchanged."""
        return lines

    def end(self) -> bytes:
        """Nothing closes a JSON lines member."""
        return b""


FORMATS: dict[str, Format] = {
    fmt.name: fmt
    for fmt in (
        Format("json", ".json", "application/json", JsonArrayFramer),
        Format("jsonl", ".jsonl", "application/x-ndjson", JsonLinesFramer),
        Format(
            "sarif",
            ".sarif",
            "application/sarif+json",
            None,
            chunks=_sarif_chunks,
            member_base=lambda _stream: "findings",
        ),
        # OCSF events, one a line (mapped in ocsf.py)
        Format("ocsf", ".ocsf.jsonl", "application/x-ndjson", JsonLinesFramer),
    )
}
COMPRESSIONS = tuple(CONTAINERS)


def framer_for(fmt: str) -> Framer:
    """The framer of a format whose records are written as they come (json, jsonl, ocsf)."""
    make = FORMATS[fmt].framer
    if make is None:
        msg = f"format {fmt!r} re-shapes its records and has no line framer"
        raise ValueError(msg)
    return make()


def framed_chunks(spool: LineSource, fmt: str, sarif_options: dict[str, Any]) -> Iterator[bytes]:
    """The member's bytes, in chunks."""
    chunks = FORMATS[fmt].chunks
    if chunks is not None:
        yield from chunks(spool.lines(), sarif_options)
        return
    framer = framer_for(fmt)
    for chunk in spool.line_chunks():
        yield framer.frame(chunk)
    if tail := framer.end():
        yield tail


def write_object(
    spool: LineSource,
    object_format: ObjectFormat,
    member_name: str,
    *,
    spool_dir: str | None = None,
    sarif_options: dict[str, Any] | None = None,
    level: int = DEFAULT_COMPRESSION_LEVEL,
) -> IO[bytes]:
    """Encode a spool into a new temporary file, rewound, ready to upload.

    ``level`` is the zlib level of zip and gzip.  The caller closes the
    returned file (which deletes it).
    """
    chunks = framed_chunks(spool, object_format.format, sarif_options or {})
    out: IO[bytes] = temporary_file(spool_dir, "target-s3-endor-out-")
    try:
        member = open_member(
            out,
            object_format.compression,
            member_name,
            spool.first_time,
            level,
            zip64=spool.bytes > ZIP64_ABOVE,
        )
        for chunk in chunks:
            member.write(chunk)
        member.close()
        out.flush()
        out.seek(0)
    except BaseException:
        out.close()
        raise
    return out
