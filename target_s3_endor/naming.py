"""Names in S3 keys and in objects: pure helpers every layout and format shares.

Nothing here touches S3 or the clock, and nothing here knows a layout: the
rules for turning any value into a safe key segment, the member names inside
objects, the folder names the target writes itself, and the parsing and
writing of times.  Each layout (``layouts/endor.py``, ``layouts/security_lake.py``)
composes its keys from these, and the formats name their members with them.

Names: a name that is already a safe segment (``[A-Za-z0-9._-]``, at most 100
characters) is written as it is.  Any other name is sanitised, cut to fit,
and ends in ``--`` plus a hash of the raw name, so names that sanitise alike
stay apart; refs are percent-encoded instead (and cut on whole characters).
Every segment is ASCII, so the 100-character cap is a byte cap too.
"""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

MAX_SEGMENT_LENGTH = 100
# S3's limit on a key, in every layout: 1024 bytes of UTF-8 (User Guide, "Naming Amazon
# S3 objects").  Each layout's key rule (``Layout.key_rule``) keeps its keys within it.
MAX_KEY_BYTES = 1024
# A batch id is ``{16 hex}-{sequence}`` (batching/run.py): 32 leaves the sequence room
# for 15 digits.  Layouts budget their keys with it.
MAX_BATCH_ID_LENGTH = 32
# Folders the target writes itself, in every layout: the connection test's (probe.py),
# the run manifests' and the completeness proofs' (run_summary.py, layouts/proof.py).
# The ``_`` keeps them apart from data (Hive-style readers skip such folders).
CONNECTION_TEST_FOLDER = "_connection-test"
MANIFEST_FOLDER = "_manifests"
PROOF_FOLDER = "_reconciliation"
# Every stream of tap-endorlabs is filed under its API resource's name, as in the API's
# paths (``/v1/namespaces/{ns}/finding-logs``): one spelling, kebab-case, so a consumer's
# table per folder reads the same everywhere.  Any other tap's stream goes under its own
# name (made safe); a name equal to one of these folders gets a hash, so no two streams
# ever share a folder.
STREAM_FOLDERS = {
    "audit_logs": "audit-logs",
    "authentication_logs": "authentication-logs",
    "finding_logs": "finding-logs",
    "scan_results": "scan-results",
    "projects": "projects",
    "findings": "findings",
}
# A stream whose own name is another stream's folder gets a hash.
RESERVED_STREAM_FOLDERS = frozenset(STREAM_FOLDERS.values())
HASH_LENGTH = 10
# A name that had to change ends in ``--`` and a hash of the raw name.  A name
# that is kept as it is never ends like that (one that does gets a hash too),
# so a kept name and a changed one never meet.
HASH_MARK = "--"
_HASHED = re.compile(r"--[0-9a-f]{10}\Z")
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_DOTS = re.compile(r"\.{2,}")
# An escape of a UTF-8 continuation byte (10xxxxxx): cutting before one would
# split a character.
_CONTINUATION_ESCAPE = re.compile(r"%[89ABab][0-9A-Fa-f]")


def shown_name(name: str) -> str:
    """A name from the input (stream, namespace, key) as a table or report line shows it.

    As written when it is all printable; else as ``repr``, so an escape or a line break
    in it neither reaches the terminal nor splits the line (nor a table's columns,
    measured on what is shown).
    """
    return name if name.isprintable() else repr(name)


def short_hash(text: str, length: int = HASH_LENGTH) -> str:
    """Hex digits of SHA-256 of the raw name: keeps names that sanitise alike apart.

    ``surrogatepass``: a lone surrogate (valid in a JSON string) still hashes.
    """
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:length]


def readable(text: str) -> str:
    """The readable part of a name: runs outside ``[A-Za-z0-9._-]`` become ``-``.

    Runs of dots become one dot; leading and trailing dots and dashes go, so
    the result holds no ``/``, no ``..`` and no control character.  Lossy:
    callers add a hash of the raw name wherever this changed it.
    """
    return _DOTS.sub(".", _UNSAFE.sub("-", text)).strip(".-")


def with_hash(stem: str, raw: str, limit: int = MAX_SEGMENT_LENGTH) -> str:
    """``{stem cut to fit}--{hash of raw}``: at most ``limit`` characters.

    ``stem`` is ASCII without broken escapes at its end (callers cut encoded
    stems with ``cut_encoded``), so cutting it by characters is safe here.
    """
    room = limit - len(HASH_MARK) - HASH_LENGTH
    cut = stem[:room].rstrip(".-")
    return f"{cut or '_'}{HASH_MARK}{short_hash(raw)}"


def is_kept_as_is(text: str, limit: int = MAX_SEGMENT_LENGTH) -> bool:
    """Whether a name is already a safe segment and is written unchanged."""
    return bool(text) and len(text) <= limit and readable(text) == text and not _HASHED.search(text)


def safe_segment(
    value: object, limit: int = MAX_SEGMENT_LENGTH, reserved: frozenset[str] = frozenset()
) -> str:
    """Any value as a key segment: safe, at most ``limit`` characters, distinct per value.

    A name that is already safe (``[A-Za-z0-9._-]``, no ``..``, no leading or
    trailing dot or dash, short enough, not in ``reserved``) is kept as it is,
    so today's keys stay put.  Any other name becomes its readable part, cut
    to fit, plus ``--`` and a hash of the raw name: two names that fold
    together (``acme/repo``, ``acme:repo``) or share the first 88 characters
    still get different segments.  The cap counts characters of the result,
    which is ASCII, so it is also a cap in bytes.
    """
    text = str(value)
    if is_kept_as_is(text, limit) and text not in reserved:
        return text
    return with_hash(readable(text), text, limit)


def percent_encode(text: str) -> str:
    """Percent-encode all but ``[A-Za-z0-9_.-]`` (UTF-8), reversibly.

    ``~`` is encoded too (AWS lists it among characters to avoid in keys), and
    dots as well when the text holds ``..`` or is ``.``, so no segment climbs
    a level.  A lone surrogate (possible in JSON text) has no UTF-8 form: it
    is written as U+FFFD, and ``ref_segment`` adds a hash for it.
    """
    encoded = quote(text, safe="-_.", errors="replace").replace("~", "%7E")
    if ".." in encoded or encoded in {".", ""}:
        encoded = encoded.replace(".", "%2E")
    return encoded


def cut_encoded(encoded: str, limit: int) -> str:
    """A prefix of a percent-encoded text, at most ``limit`` long, on a character boundary.

    Never inside an escape (``%E6%BC``) nor between the bytes of one UTF-8
    character, so the prefix always decodes to whole characters.
    """
    end = min(limit, len(encoded))
    # Back off an escape cut in its middle: "%" one or two places before the end.
    for back in (1, 2):
        if end - back >= 0 and end < len(encoded) and encoded[end - back] == "%":
            end -= back
            break
    # Back off continuation bytes of a character whose start is kept.
    while end < len(encoded) and _CONTINUATION_ESCAPE.match(encoded, end):
        end -= 3
    return encoded[:end]


def _has_surrogate(text: str) -> bool:
    return any("\ud800" <= char <= "\udfff" for char in text)


def ref_segment(ref: object, limit: int = MAX_SEGMENT_LENGTH) -> str:
    """Encode a branch name or PR number reversibly (``feature/x`` -> ``feature%2Fx``).

    Percent-encoding keeps distinct refs on distinct keys and ``unquote`` gives
    the ref back.  A ref whose encoding is too long (or would look like a
    hashed one) is cut on a character boundary, never inside an escape, and
    gets ``--`` and a hash of the full ref, which keeps it distinct.
    """
    text = str(ref) if ref not in (None, "") else "_none"
    encoded = percent_encode(text)
    if len(encoded) <= limit and not _HASHED.search(encoded) and not _has_surrogate(text):
        return encoded
    room = limit - len(HASH_MARK) - HASH_LENGTH
    stem = cut_encoded(encoded, room)
    return f"{stem or '_'}{HASH_MARK}{short_hash(text)}"


def member_file_name(stream_name: str, suffix: str) -> str:
    """The file name inside a zip or gzip object: a safe segment plus its suffix.

    Zip and gzip readers write members to disk under this name, so it gets the
    same treatment as a key segment: no ``/``, backslash, ``..``, drive letter or
    control character, ASCII only, and distinct for distinct stream names.
    """
    return safe_segment(stream_name) + suffix


def prefix_path(prefix: str | None) -> str:
    """The key prefix as safe segments; empty parts (``a//b``, trailing ``/``) drop out."""
    parts = [safe_segment(part) for part in (prefix or "").split("/") if part.strip()]
    return "/".join(parts)


def stream_folder(stream_name: str) -> str:
    """The folder of a time-partitioned stream (``finding_logs`` -> ``finding-logs``).

    A stream whose own name is another stream's folder (``audit-logs``) gets a hash.
    Also the base of the member's name in the object (``finding-logs.json``).
    """
    return STREAM_FOLDERS.get(stream_name) or safe_segment(
        stream_name, reserved=RESERVED_STREAM_FOLDERS
    )


def join_key(*parts: str) -> str:
    """Join segments with ``/``, skipping an empty prefix."""
    return "/".join(part for part in parts if part)


def parse_time(value: object) -> datetime | None:
    """Parse an RFC 3339 time (``Z`` or offset) to aware UTC, or None if it is not one."""
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str) and len(value) >= 10:
        try:
            parsed = datetime.fromisoformat(value.replace("z", "Z"))
        except ValueError:
            return None
    else:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    try:
        return parsed.astimezone(UTC)
    except OverflowError:  # 0001-01-01T00:00+01:00 or 9999-12-31T23:59-01:00: past datetime's range
        edge = datetime.min if parsed.year == 1 else datetime.max
        return edge.replace(tzinfo=UTC)


def compact_time(moment: datetime) -> str:
    """``YYYYMMDDTHHMMSSZ`` in UTC, the exporter's timestamp format.

    Written field by field: ``strftime`` drops a year's leading zeros on Linux
    (year 1 came out as ``10101T...``, breaking the keys' order).
    """
    try:
        utc = moment.astimezone(UTC)
    except OverflowError:
        utc = (datetime.min if moment.year == 1 else datetime.max).replace(tzinfo=UTC)
    return (
        f"{utc.year:04d}{utc.month:02d}{utc.day:02d}T"
        f"{utc.hour:02d}{utc.minute:02d}{utc.second:02d}Z"
    )


def dig(record: Any, *path: str) -> Any:
    """Follow a path of keys through nested dicts; None where it breaks."""
    for name in path:
        if not isinstance(record, dict):
            return None
        record = record.get(name)
    return record
