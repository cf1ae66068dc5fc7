"""How many records an object holds, read as it streams from S3.

The object's key says how to open it: ``.zip`` (its one member's name gives
the format), ``.gz``, or as is; then ``.parquet`` (rows from the footer),
``.jsonl`` and ``.ocsf.jsonl`` (non-blank lines), ``.json`` (elements of the
top-level array) or ``.sarif`` (results of every run).  Nothing is held whole:
gzip and plain objects are read from the response body in chunks, zip and
Parquet (whose directories are at the end) through ranged GETs
(``ranged.py``), and JSON arrays are counted by ``ijson``'s event parser, so
memory stays the size of a buffer whatever the object's size.
"""

from __future__ import annotations

import gzip
import io
import zipfile
from collections.abc import Callable
from typing import IO, Any

import ijson

from target_s3_endor.verify.ranged import RangedObject

CHUNK = 1 << 20
# ijson events that begin one element of an array (an object, array or scalar).
ELEMENT_STARTS = frozenset({"start_map", "start_array", "string", "number", "boolean", "null"})


class UnreadableObject(Exception):
    """An object that exists but cannot be opened or parsed as its key says."""


def count_jsonl(stream: IO[bytes]) -> int:
    """Non-blank lines: one record each (``.jsonl``, ``.ocsf.jsonl``)."""
    count = 0
    for line in stream:
        if line.strip():
            count += 1
    return count


def _count_items(stream: IO[bytes], prefix: str) -> int:
    count = 0
    for event_prefix, event, _ in ijson.parse(stream, buf_size=CHUNK):
        if event_prefix == prefix and event in ELEMENT_STARTS:
            count += 1
    return count


def count_json_array(stream: IO[bytes]) -> int:
    """Elements of the top-level JSON array (``.json``)."""
    return _count_items(stream, "item")


def count_sarif(stream: IO[bytes]) -> int:
    """Results over every run of a SARIF log (``.sarif``): one per finding."""
    return _count_items(stream, "runs.item.results.item")


MEMBER_COUNTERS: dict[str, Callable[[IO[bytes]], int]] = {
    ".ocsf.jsonl": count_jsonl,
    ".jsonl": count_jsonl,
    ".json": count_json_array,
    ".sarif": count_sarif,
}


def member_counter(name: str) -> Callable[[IO[bytes]], int]:
    """The counter for a member (or an uncompressed object) by its name's suffix."""
    for suffix, counter in MEMBER_COUNTERS.items():
        if name.endswith(suffix):
            return counter
    msg = f"{name}: not a format the target writes (.json, .jsonl, .sarif, .parquet)"
    raise UnreadableObject(msg)


def count_parquet(source: RangedObject) -> int:
    """Rows of a Parquet object, from its footer (two small ranged reads)."""
    import pyarrow.parquet as pq  # noqa: PLC0415 (the security-lake extra; only Parquet needs it)

    return int(pq.ParquetFile(source).metadata.num_rows)


def count_zip(source: IO[bytes]) -> int:
    """Records over the members of a zip (the target writes one)."""
    total = 0
    with zipfile.ZipFile(source) as archive:
        for info in archive.infolist():
            counter = member_counter(info.filename)
            with archive.open(info) as member:
                total += counter(member)
    return total


def count_records(key: str, get_body: Callable[[], IO[bytes]], ranged: RangedObject) -> int:
    """Records in the object at ``key``.

    ``get_body`` opens the whole object as a stream (one GET); ``ranged`` reads
    parts of it (a GET per buffer), for formats whose directory is at the end.

    Raises:
        UnreadableObject: the object is not what its key says.
    """
    try:
        if key.endswith(".parquet"):
            return count_parquet(ranged)
        if key.endswith(".zip"):
            return count_zip(io.BufferedReader(ranged, buffer_size=8 * CHUNK))
        if key.endswith(".gz"):
            counter = member_counter(key.removesuffix(".gz"))
            with gzip.GzipFile(fileobj=get_body(), mode="rb") as member:
                return counter(member)  # type: ignore[arg-type]
        counter = member_counter(key)
        return counter(io.BufferedReader(_Raw(get_body()), buffer_size=CHUNK))
    except UnreadableObject:
        raise
    except (OSError, EOFError, ValueError, zipfile.BadZipFile, ijson.JSONError) as exc:
        raise UnreadableObject(f"{key}: {type(exc).__name__}: {exc}") from None
    except Exception as exc:  # pyarrow's errors (ArrowInvalid) are not OSError subclasses
        if type(exc).__module__.startswith("pyarrow"):
            raise UnreadableObject(f"{key}: {type(exc).__name__}: {exc}") from None
        raise


class _Raw(io.RawIOBase):
    """A response body (``read(n)`` only) as a raw stream a BufferedReader can wrap."""

    def __init__(self, body: Any) -> None:
        self._body = body

    def readable(self) -> bool:
        """Always: a response body is read-only."""
        return True

    def readinto(self, buffer: Any) -> int:
        """Read the body's next bytes into ``buffer``."""
        data = self._body.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)
