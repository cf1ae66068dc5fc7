"""BATCH messages: the records of a tap's batch files, read as a stream.

A BATCH message (singer-sdk's extension, written when a tap's ``batch_config``
is set) names files that hold a stream's records: JSON Lines or Parquet, gzip or
not, at local paths, ``file://`` URLs or ``s3://`` URLs (with ``s3fs``): the schemes
singer-sdk documents for BATCH; any other (``http://``, fsspec's other protocols)
is refused before anything is opened (``input.reach``).  The
SDK's own ``Sink.process_batch_files`` reads each file whole into a list and
passes it to ``process_batch``, which in this target uploads what is already
spooled and never sees those records; so here the target reads the files itself
and hands each record to the same path a RECORD message takes.

What is kept from the SDK: its encoding names (``BatchFileFormat``), its rule
that a JSONL batch file holds bare records (not Singer messages), pyarrow for
Parquet, and fsspec for URLs.  What differs: files are streamed (a JSONL line or
a Parquet record batch at a time, so memory does not grow with the file), a
JSONL file is gunzipped when its bytes say gzip, whatever the message declares
(the SDK's JSONL batcher gzips every file, even with ``compression: none``), and
every way a message or file can be unusable ends in one line naming the stream,
the file and what to do, checked as far as possible before any record is read.
"""

from __future__ import annotations

import base64
import gzip
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path
from typing import IO, Any
from urllib.parse import unquote, urlsplit

import msgspec
from singer_sdk.contrib.msgspec import decoder as msgspec_decoder

from target_s3_endor.errors import BadInputError
from target_s3_endor.input.checks import require_stream, stream_label
from target_s3_endor.input.reach import batch_url_problem
from target_s3_endor.json_text import decode_with_surrogates, has_surrogate_escape

# singer-sdk's BATCH encoding names (its private BatchFileFormat: test_sdk_hooks checks them).
JSONL, PARQUET = "jsonl", "parquet"
FORMATS = {JSONL, PARQUET}
COMPRESSIONS = {None, "none", "gzip"}
GZIP_MAGIC = b"\x1f\x8b"
PARQUET_ROWS_AT_ONCE = 1_000
PARQUET_NEEDS = "pip install pyarrow (or endorlabs-s3-export[parquet])"


@dataclass(frozen=True)
class BatchRequest:
    """What a BATCH message asks for: a stream's records in these files."""

    stream: str
    format: str
    manifest: tuple[str, ...]


def batch_request(message: dict[str, Any]) -> BatchRequest:
    """The checked content of a BATCH message, or a one-line error."""
    stream = require_stream(message, "BATCH")
    where = f"the BATCH message for stream {stream_label(stream)}"
    encoding = message.get("encoding")
    if not isinstance(encoding, dict):
        msg = f"{where} lacks its encoding object ({{'format': 'jsonl'}}): fix the tap"
        raise BadInputError(msg)
    file_format = encoding.get("format")
    if file_format not in FORMATS:
        msg = (
            f"{where} has the unknown encoding format {stream_label(file_format)}: "
            "the target reads jsonl and parquet batch files"
        )
        raise BadInputError(msg)
    if encoding.get("compression") not in COMPRESSIONS:
        msg = (
            f"{where} has the unknown compression {stream_label(encoding.get('compression'))}:"
            " the target reads gzip or none"
        )
        raise BadInputError(msg)
    manifest = message.get("manifest")
    if not isinstance(manifest, list) or not all(isinstance(url, str) for url in manifest):
        what = (
            "lacks its manifest (a list of file URLs)"
            if "manifest" not in message
            else "has a manifest that is not a list of file URLs"
        )
        msg = f"{where} {what}: fix the tap"
        raise BadInputError(msg)
    request = BatchRequest(stream, str(file_format), tuple(manifest))
    if request.format == PARQUET:
        _pyarrow_parquet(request)
    for url in request.manifest:
        if problem := batch_url_problem(url):  # http(s), ftp, ...: never fetched (input/reach.py)
            raise _file_error(request, url, problem)
        _filesystem(url, request)  # a URL the target cannot open fails before any record
    return request


def batch_records(request: BatchRequest) -> Iterator[dict[str, Any]]:
    """Every record of every file in the manifest, in order, one at a time."""
    read = _parquet_records if request.format == PARQUET else _jsonl_records
    for url in request.manifest:
        with _opened(url, request) as file:
            yield from read(file, url, request)


def shown_url(url: str) -> str:
    """A manifest URL for an error line: no query string (it may hold a signature), no userinfo."""
    scheme, separator, rest = url.partition("://")
    if separator:
        rest = rest.split("?", 1)[0].split("#", 1)[0]
        if not rest.startswith("/") and "@" in rest:
            # s3://key:secret@bucket/...: the bucket on; a secret key may hold a "/".
            rest = rest.rpartition("@")[2]
        text = f"{scheme}://{rest}"
    else:
        text = url
    return text if len(text) <= 200 else text[:197] + "..."


def _file_error(request: BatchRequest, url: str, problem: str) -> BadInputError:
    return BadInputError(
        f"BATCH file {shown_url(url)!r} of stream {stream_label(request.stream)} {problem}"
    )


def _local_path(url: str) -> Path | None:
    """The local path of a ``file://`` URL or a bare path, or None for other schemes."""
    parts = urlsplit(url)
    if parts.scheme == "file":
        # RFC 8089 percent-encodes (a space is %20), but singer-sdk's batchers, through
        # fsspec, write a root given as ``file:///a%20b`` to a folder named ``a%20b``.
        decoded = Path(unquote(parts.path))
        return decoded if decoded.exists() else Path(parts.path)
    if not parts.scheme or len(parts.scheme) == 1:  # a bare path (or a Windows drive)
        return Path(url)
    return None


def _filesystem(url: str, request: BatchRequest) -> Any:
    """The fsspec filesystem and path for a non-local URL; one line if none is installed."""
    if _local_path(url) is not None:
        return None
    import fsspec  # noqa: PLC0415 - only BATCH messages with remote files need it

    try:
        return fsspec.core.url_to_fs(url)
    except ImportError as exc:  # fsspec says which package: "Install s3fs to access S3"
        hint = str(exc).strip() or "install the fsspec implementation for this URL scheme"
        problem = f"cannot be read here: {hint} next to the target, or write batch files locally"
        raise _file_error(request, url, problem) from None
    except ValueError as exc:
        raise _file_error(request, url, f"has a URL the target cannot open ({exc})") from None


@contextmanager
def _opened(url: str, request: BatchRequest) -> Iterator[IO[bytes]]:
    local = _local_path(url)
    try:
        if local is not None:
            file: IO[bytes] = local.open("rb")
        else:
            filesystem, path = _filesystem(url, request)
            file = filesystem.open(path, "rb")
    except OSError as exc:
        problem = f"could not be opened ({exc.strerror or type(exc).__name__})"
        raise _file_error(request, url, problem + ": is it still there?") from None
    except ValueError as exc:  # a path holding a NUL character: no file can have that name
        raise _file_error(
            request, url, f"is no path a file can have ({exc}): fix the tap"
        ) from None
    with file:
        yield file


_NOT_JSON = object()


def _with_surrogates(line: bytes) -> Any:
    """A line msgspec refused: JSON with a lone surrogate escape (json_text), or not JSON."""
    if not has_surrogate_escape(line):
        return _NOT_JSON
    try:
        return decode_with_surrogates(line)
    except (ValueError, RecursionError):
        return _NOT_JSON


def _jsonl_records(file: IO[bytes], url: str, request: BatchRequest) -> Iterator[dict[str, Any]]:
    """Records of a JSON Lines file, gunzipped if its first bytes are gzip's."""
    stream_head = getattr(file, "peek", None)
    if stream_head is not None:  # a local file, or a pipe: look without consuming
        head = stream_head(2)[:2]
    else:  # fsspec's remote files can seek
        head = file.read(2)
        file.seek(0)
    stream: IO[bytes] | gzip.GzipFile = (
        gzip.GzipFile(fileobj=file, mode="rb") if head == GZIP_MAGIC else file
    )
    number = 0
    try:
        for number, line in enumerate(stream, start=1):
            if not line.strip():
                continue
            try:
                record = msgspec_decoder.decode(line)
            except msgspec.DecodeError:
                record = _with_surrogates(line)
            except RecursionError:
                problem = f"line {number} is nested deeper than the JSON reader goes: fix the tap"
                raise _file_error(request, url, problem) from None
            if record is _NOT_JSON:
                raise _file_error(
                    request, url, f"line {number} is not valid JSON: fix the tap"
                ) from None
            if not isinstance(record, dict):
                problem = f"line {number} is a {type(record).__name__}, not a record object"
                raise _file_error(request, url, problem + ": fix the tap")
            yield record
    except (OSError, EOFError, zlib.error) as exc:
        problem = f"is damaged after line {number} ({type(exc).__name__}: {exc})"
        raise _file_error(request, url, problem) from None


def _pyarrow_parquet(request: BatchRequest) -> Any:
    try:
        import pyarrow.parquet  # noqa: PLC0415 - an optional dependency
    except ImportError:
        msg = (
            f"the BATCH message for stream {stream_label(request.stream)} names Parquet files, "
            f"which need pyarrow: {PARQUET_NEEDS}"
        )
        raise BadInputError(msg) from None
    return pyarrow.parquet


def _parquet_records(file: IO[bytes], url: str, request: BatchRequest) -> Iterator[dict[str, Any]]:
    """Records of a Parquet file, a record batch at a time, with JSON's own value types."""
    parquet = _pyarrow_parquet(request)
    import pyarrow  # noqa: PLC0415 - present: checked just above

    try:
        batches = parquet.ParquetFile(file).iter_batches(batch_size=PARQUET_ROWS_AT_ONCE)
        for batch in batches:
            for row in batch.to_pylist():
                yield {key: _json_value(value) for key, value in row.items()}
    except (OSError, pyarrow.ArrowException) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise _file_error(request, url, f"is not a readable Parquet file ({first})") from None


def _json_value(value: Any) -> Any:
    """A Parquet value as the JSON a RECORD message would carry.

    Timestamps become RFC 3339 text (``Z`` for UTC), dates and times ISO 8601,
    binary base64; numbers, strings, lists and structs are already JSON's.
    """
    if isinstance(value, dict):
        return {key: _json_value(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_json_value(item) for item in value]
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    return value
