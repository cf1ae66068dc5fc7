"""The Endor Labs layout: pure functions from a record's fields to its S3 key.

Nothing here touches S3 or the clock, so every rule (partitioning by day, one
object per scan, the fallback place, the key's length) is testable with plain
values.  How a single name becomes a safe segment is ``naming.py``'s, shared
with the other layouts and the formats.

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

Every segment is ASCII and at most ``naming.MAX_SEGMENT_LENGTH`` characters:
below its root (``{prefix}/{exporter}``) a key takes at most
``MAX_KEY_BELOW_ROOT`` bytes, so a root of at most ``MAX_ROOT_BYTES`` keeps
every key within S3's 1024.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any, NamedTuple

from target_s3_endor.errors import SettingsError
from target_s3_endor.layouts.base import Layout, LayoutSettings
from target_s3_endor.naming import (
    CONNECTION_TEST_FOLDER,
    MANIFEST_FOLDER,
    MAX_BATCH_ID_LENGTH,
    MAX_KEY_BYTES,
    MAX_SEGMENT_LENGTH,
    PROOF_FOLDER,
    compact_time,
    dig,
    join_key,
    parse_time,
    prefix_path,
    readable,
    ref_segment,
    safe_segment,
    stream_folder,
)

UNPARTITIONED = "_unpartitioned"
# Fixed namespace for the default exporter uuid: the same name gives the same
# uuid on every machine and run, so keys stay put across re-runs.
EXPORTER_UUID_NAMESPACE = uuid.UUID("6f1c7b1e-3f0a-5c3e-9a57-2b7e0c1d4e55")
# Folder names the target writes itself at the namespace level: a namespace with
# one of these names gets a hash, so it never shares them.
RESERVED_NAMESPACES = frozenset(
    {UNPARTITIONED, CONNECTION_TEST_FOLDER, MANIFEST_FOLDER, PROOF_FOLDER}
)
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


def readable_project_name(name: str) -> str:
    """Turn a repository URL into a readable segment (``github.com-acme-repo``).

    Decoration only: the project uuid in front of it is what keeps projects
    apart, so no hash is added here (Endor Labs' layout stays exact).
    """
    text = _SCHEME.sub("", name.strip())
    text = text.split("@", 1)[-1] if "@" in text.split("/", 1)[0] else text
    text = text.removesuffix("/").removesuffix(".git")
    return readable(text.replace(":", "/")) or "_"


def default_exporter_uuid(exporter_name: str) -> str:
    """Derive a stable exporter uuid from its name (uuid5)."""
    return str(uuid.uuid5(EXPORTER_UUID_NAMESPACE, exporter_name))


def exporter_segment(exporter_uuid: str, exporter_name: str) -> str:
    """``{exporter_uuid}-{exporter_name}`` as one safe segment."""
    return safe_segment(f"{exporter_uuid}-{exporter_name}")


def exporter_root(settings: LayoutSettings) -> str:
    """``{prefix}/{exporter_uuid}-{exporter_name}``, the root of every Endor-layout key."""
    name = settings.exporter_name
    exporter_uuid = settings.exporter_uuid or default_exporter_uuid(name)
    return join_key(prefix_path(settings.prefix), exporter_segment(exporter_uuid, name))


def namespace_segment(namespace: object) -> str:
    """A namespace as a segment; never one of the target's own folders at that level."""
    return safe_segment(namespace, reserved=RESERVED_NAMESPACES)


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
MAX_KEY_BELOW_ROOT = (
    4 * (MAX_SEGMENT_LENGTH + 1) + 1 + 16 + 1 + 80 + 1 + MAX_BATCH_ID_LENGTH + MAX_EXTENSION_LENGTH
)
MAX_ROOT_BYTES = MAX_KEY_BYTES - MAX_KEY_BELOW_ROOT


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


def _exporter_roots(settings: LayoutSettings) -> list[str]:
    """Every Endor-layout object (data, probes, proofs, manifests) is under the exporter root."""
    return [exporter_root(settings)]


def _under_exporter_root(root: str, *_: str) -> str:
    """A stream's proofs and a key's manifest: the exporter root, for every stream and key."""
    return root


def _no_layout_rule(_config: Mapping[str, Any]) -> None:
    """No rule on the raw configuration: its key-length rule is ``check_key_root``."""


def check_key_root(settings: LayoutSettings) -> None:
    """The root (prefix and exporter segment) leaves room for the deepest key below it.

    Every Endor-layout key is ``{root}/...`` with at most ``MAX_KEY_BELOW_ROOT`` bytes
    below the root, so a root of at most ``MAX_ROOT_BYTES`` keeps each within S3's 1024.
    """
    size = len(exporter_root(settings).encode())
    if size > MAX_ROOT_BYTES:
        msg = (
            f"prefix and exporter_name make a key root of {size} bytes: S3 keys hold at most "
            f"{MAX_KEY_BYTES} bytes and the layout below the root needs up to "
            f"{MAX_KEY_BELOW_ROOT}; shorten prefix so the root is at most "
            f"{MAX_ROOT_BYTES} bytes"
        )
        raise SettingsError(msg)


LAYOUT = Layout(
    name="endor",
    sink="target_s3_endor.batching.sink:S3EndorSink",
    check=_no_layout_rule,
    key_rule=check_key_root,
    roots=_exporter_roots,
    proof_root=lambda _settings, root, _stream: _under_exporter_root(root),
    key_root=_under_exporter_root,
    manifest_when_empty=True,
    ignored_settings=("security_lake_account_id", "security_lake_source_names"),
    ignored_because="only layout: security-lake reads it",
)
