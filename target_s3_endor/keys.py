"""What an S3 key looks like: pure functions from a record's fields to a key.

Nothing here touches S3 or the clock, so every rule (sanitising hostile names,
partitioning by day, the fallback place) is testable with plain values.

Layout (``{exporter}`` is ``{exporter_uuid}-{exporter_name}``):

* findings, one object per scan:
  ``{prefix}/{exporter}/{namespace}/{project_uuid}-{project}/{scan_type}/{ref}/{YYYYMMDDTHHMMSSZ}_{scan_uuid}{ext}``
* audit logs (authentication logs alike, under ``authentication-logs``):
  ``{prefix}/{exporter}/{namespace}/audit-logs/{YYYY}/{MM}/{DD}/{first-record-time}_{batch-id}{ext}``
* any other stream: as audit logs, under the stream's name.
* records without the fields their layout needs (no ``tenant_meta.namespace`` or
  no parseable ``meta.create_time``; findings without a usable ``scan_context``):
  the time-partitioned layout with the namespace segment ``_unpartitioned``,
  dated by the record's ``_sdc_extracted_at`` or its arrival time.

Names: a name that is already a safe segment (``[A-Za-z0-9._-]``, at most 100
characters) is written as it is.  Any other name is sanitised, cut to fit,
and ends in ``--`` plus a hash of the raw name, so names that sanitise alike
stay apart; refs are percent-encoded instead (and cut on whole characters).
Every segment is ASCII, so the 100-character cap is a byte cap too: below its
root (``{prefix}/{exporter}``) a key takes at most ``MAX_KEY_BELOW_ROOT`` bytes,
so a root of at most ``MAX_ROOT_BYTES`` keeps every key within S3's 1024.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, NamedTuple
from urllib.parse import quote

MAX_SEGMENT_LENGTH = 100
# S3's limit on a key: 1024 bytes of UTF-8.  Every segment below is ASCII.
MAX_KEY_BYTES = 1024
UNPARTITIONED = "_unpartitioned"
CONNECTION_TEST_FOLDER = "_connection-test"
# The run manifests' and the completeness proofs' folders (run_summary.py, layouts/proof.py).
MANIFEST_FOLDER = "_manifests"
PROOF_FOLDER = "_reconciliation"
# Fixed namespace for the default exporter uuid: the same name gives the same
# uuid on every machine and run, so keys stay put across re-runs.
EXPORTER_UUID_NAMESPACE = uuid.UUID("6f1c7b1e-3f0a-5c3e-9a57-2b7e0c1d4e55")
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
# Folder names the target writes itself at the namespace and stream levels: a
# namespace or stream with one of these names gets a hash, so it never shares them.
RESERVED_NAMESPACES = frozenset(
    {UNPARTITIONED, CONNECTION_TEST_FOLDER, MANIFEST_FOLDER, PROOF_FOLDER}
)
RESERVED_STREAM_FOLDERS = frozenset(STREAM_FOLDERS.values())

HASH_LENGTH = 10
# A name that had to change ends in ``--`` and a hash of the raw name.  A name
# that is kept as it is never ends like that (one that does gets a hash too),
# so a kept name and a changed one never meet.
HASH_MARK = "--"
_HASHED = re.compile(r"--[0-9a-f]{10}\Z")
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_DOTS = re.compile(r"\.{2,}")
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
# An escape of a UTF-8 continuation byte (10xxxxxx): cutting before one would
# split a character.
_CONTINUATION_ESCAPE = re.compile(r"%[89ABab][0-9A-Fa-f]")


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


def readable_project_name(name: str) -> str:
    """Turn a repository URL into a readable segment (``github.com-acme-repo``).

    Decoration only: the project uuid in front of it is what keeps projects
    apart, so no hash is added here (Endor Labs' layout stays exact).
    """
    text = _SCHEME.sub("", name.strip())
    text = text.split("@", 1)[-1] if "@" in text.split("/", 1)[0] else text
    text = text.removesuffix("/").removesuffix(".git")
    return readable(text.replace(":", "/")) or "_"


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


def default_exporter_uuid(exporter_name: str) -> str:
    """Derive a stable exporter uuid from its name (uuid5)."""
    return str(uuid.uuid5(EXPORTER_UUID_NAMESPACE, exporter_name))


def exporter_segment(exporter_uuid: str, exporter_name: str) -> str:
    """``{exporter_uuid}-{exporter_name}`` as one safe segment."""
    return safe_segment(f"{exporter_uuid}-{exporter_name}")


def exporter_root(config: Mapping[str, Any]) -> str:
    """``{prefix}/{exporter_uuid}-{exporter_name}``, the root of every Endor-layout key."""
    name = str(config.get("exporter_name") or "s3-exporter")
    exporter_uuid = str(config.get("exporter_uuid") or default_exporter_uuid(name))
    return join_key(
        prefix_path(config.get("prefix", "endor")), exporter_segment(exporter_uuid, name)
    )


def namespace_segment(namespace: object) -> str:
    """A namespace as a segment; never one of the target's own folders at that level."""
    return safe_segment(namespace, reserved=RESERVED_NAMESPACES)


def stream_folder(stream_name: str) -> str:
    """The folder of a time-partitioned stream (``finding_logs`` -> ``finding-logs``).

    A stream whose own name is another stream's folder (``audit-logs``) gets a hash.
    Also the base of the member's name in the object (``finding-logs.json``).
    """
    return STREAM_FOLDERS.get(stream_name) or safe_segment(
        stream_name, reserved=RESERVED_STREAM_FOLDERS
    )


def project_segment(project_uuid: object, project_name: object) -> str:
    """``{project_uuid}-{readable project name}``, at most one segment long.

    The uuid part is a ``safe_segment`` (distinct per uuid, at most 60
    characters); the name is decoration, cut by whole characters to fit.
    """
    uuid_part = safe_segment(project_uuid, 60)
    name = readable_project_name(str(project_name or ""))
    room = MAX_SEGMENT_LENGTH - len(uuid_part) - 1
    return f"{uuid_part}-{name[:room].rstrip('.-') or '_'}"


# The longest a key gets below ``{prefix}/{exporter}``: namespace, project, scan
# type and ref segments, then a continuation's ``{time}_{scan uuid (80)}_{batch id}``
# and the longest extension (``.sarif.gz``), with their slashes.  Time-partitioned
# keys are shorter.  A batch id is ``{16 hex}-{sequence}``: 32 leaves the sequence
# room for 15 digits.
MAX_EXTENSION_LENGTH = 10
MAX_BATCH_ID_LENGTH = 32
MAX_KEY_BELOW_ROOT = (
    4 * (MAX_SEGMENT_LENGTH + 1) + 1 + 16 + 1 + 80 + 1 + MAX_BATCH_ID_LENGTH + MAX_EXTENSION_LENGTH
)
MAX_ROOT_BYTES = MAX_KEY_BYTES - MAX_KEY_BELOW_ROOT


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


@dataclass(frozen=True)
class ScanPlace:
    """Where one scan's findings object lives, from the record's ``scan_context``.

    The key is composed when asked for (at upload), not when the place is made:
    the sink makes one for every finding, and composing the key cost ~13 us.
    """

    scan_uuid: str
    root: str
    namespace: str
    scan_time: datetime
    context: Mapping[str, Any]

    @property
    def key_stem(self) -> str:
        """``{root}/{namespace}/{project}/{scan type}/{ref}/{time}_{scan uuid}``."""
        context = self.context
        return join_key(
            self.root,
            namespace_segment(self.namespace),
            project_segment(context["project_uuid"], context.get("project_name")),
            safe_segment(context["scan_type"]),
            ref_segment(context["ref"]),
            f"{compact_time(self.scan_time)}_{safe_segment(self.scan_uuid, 80)}",
        )


class TimePartition(NamedTuple):
    """The folder and first-record time of a time-partitioned batch.

    A named tuple rather than a dataclass: one is made per record, and a tuple
    is several times cheaper to build.
    """

    folder: str
    moment: datetime
    fallback: bool


SCAN_CONTEXT_FIELDS = ("scan_uuid", "scan_time", "scan_type", "ref", "project_uuid")


def scan_place(record: dict[str, Any], root: str) -> ScanPlace | None:
    """The findings key (without extension) of a record's scan, or None if it lacks fields.

    Only ``scan_context`` is used, so a re-run after a crash writes the same key.
    ``root`` is ``{prefix}/{exporter}``.
    """
    context = record.get("scan_context")
    if not isinstance(context, dict):
        return None
    if any(context.get(name) in (None, "") for name in SCAN_CONTEXT_FIELDS):
        return None
    scan_time = parse_time(context["scan_time"])
    namespace = context.get("namespace") or dig(record, "tenant_meta", "namespace")
    if scan_time is None or not namespace:
        return None
    return ScanPlace(
        scan_uuid=str(context["scan_uuid"]),
        root=root,
        namespace=str(namespace),
        scan_time=scan_time,
        context=context,
    )


def record_time(record: dict[str, Any]) -> datetime | None:
    """The record's own time: ``meta.create_time``, or None."""
    return parse_time(dig(record, "meta", "create_time"))


def time_partition(
    record: dict[str, Any],
    stream_name: str,
    root: str,
    arrival: datetime,
    *,
    missing_fields: bool = False,
) -> TimePartition:
    """The day folder a record belongs to, falling back to ``_unpartitioned``.

    A record with a namespace and a parseable ``meta.create_time`` goes under its
    namespace; any other record goes to the documented fallback folder, dated by
    ``_sdc_extracted_at`` or its arrival, so it is never dropped.  A caller that
    found other layout fields missing (a finding without ``scan_context``) sets
    ``missing_fields``.
    """
    namespace = dig(record, "tenant_meta", "namespace")
    moment = record_time(record)
    fallback = missing_fields or not (
        isinstance(namespace, str) and namespace and moment is not None
    )
    if moment is None:
        moment = parse_time(record.get("_sdc_extracted_at")) or arrival
    folder = day_folder(
        root,
        None if fallback else str(namespace),
        stream_name,
        (moment.year, moment.month, moment.day),
    )
    return TimePartition(folder=folder, moment=moment, fallback=fallback)


@lru_cache(maxsize=4096)
def day_folder(
    root: str, namespace: str | None, stream_name: str, day: tuple[int, int, int]
) -> str:
    """``{root}/{namespace}/{stream}/{YYYY}/{MM}/{DD}``; ``None`` namespace: the fallback.

    Cached: a batch's records share a handful of (namespace, day) pairs, and
    sanitising and joining the segments for every record cost ~7% of a run.
    """
    namespace_folder = UNPARTITIONED if namespace is None else namespace_segment(namespace)
    year, month, date = day
    return join_key(
        root, namespace_folder, stream_folder(stream_name), f"{year:04d}/{month:02d}/{date:02d}"
    )


def batch_key_stem(folder: str, first_record_time: datetime, batch_id: str) -> str:
    """``{folder}/{first-record-time}_{batch-id}``: unique because the batch id is."""
    return f"{folder}/{compact_time(first_record_time)}_{batch_id}"


def continuation_stem(scan_stem: str, batch_id: str) -> str:
    """``{scan key stem}_{batch-id}``: findings of a scan that came after its ``last`` one.

    Beside the scan's own object, never over it: that one is complete.
    """
    return f"{scan_stem}_{batch_id}"
