"""``layout: security-lake``: OCSF events as Parquet under a Security Lake custom source.

Amazon Security Lake reads a custom source's objects from
``ext/<source-name>/region=<region>/accountId=<account-id>/eventDay=<YYYYMMDD>/``
in its bucket (custom-sources.html, "Partitioning"), one OCSF class per source
("for sources that contain multiple categories of data, deliver each unique
OCSF event class as a separate source").  So each (stream, class) pair has a
source name (``security_lake_source_names``, with defaults below), and a batch
is one Parquet object per (source, event day).  ``parquet.py`` writes the
objects, ``parquet_sink.py`` decides which events go in which; this module holds
the settings, the key and the manifest's place: data and rules, no sink.

Frequency: the guide asks for objects every 5 minutes to one event day (more
often only for objects over 256 MB).  A batch is written when it is full, when
its oldest record is ``batch_max_age_seconds`` old (at least 300 in this layout,
checked at start) and at the end of each run; raise ``batch_max_records`` and
``batch_max_bytes`` for backfills so objects are large.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from target_s3_endor import naming
from target_s3_endor.errors import SettingsError
from target_s3_endor.formats.ocsf import (
    API_ACTIVITY,
    AUTHENTICATION,
    CLASS_NAMES,
    DETECTION_FINDING,
    VULNERABILITY_FINDING,
)
from target_s3_endor.layouts.base import Layout, LayoutSettings

SECURITY_LAKE = "security-lake"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MIN_AGE_SECONDS = 300  # "between 5 minutes and 1 event day"
ACCOUNT_ID_LENGTH = 12
ACCOUNT_ID = re.compile(rf"^\d{{{ACCOUNT_ID_LENGTH}}}$")
# Security Lake's custom source names: letters, digits, '-' and '_', at most 64.
SOURCE_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d+$")

# (stream, OCSF class) -> default source name; the setting's keys are the
# stream, or ``stream.class_name`` for streams that hold two classes.
DEFAULT_SOURCE_NAMES: dict[tuple[str, int], str] = {
    ("audit_logs", API_ACTIVITY): "endorlabs-audit-logs",
    ("authentication_logs", AUTHENTICATION): "endorlabs-authentication-logs",
    ("findings", VULNERABILITY_FINDING): "endorlabs-vulnerability-findings",
    ("findings", DETECTION_FINDING): "endorlabs-detection-findings",
    ("finding_logs", VULNERABILITY_FINDING): "endorlabs-vulnerability-finding-logs",
    ("finding_logs", DETECTION_FINDING): "endorlabs-detection-finding-logs",
}


def setting_key(stream: str, class_uid: int) -> str:
    """The ``security_lake_source_names`` key of a (stream, class) pair."""
    classes = [c for s, c in DEFAULT_SOURCE_NAMES if s == stream]
    return stream if len(classes) == 1 else f"{stream}.{CLASS_NAMES[class_uid]}"


def source_names(given: object) -> dict[tuple[str, int], str]:
    """Every (stream, class) pair's source name, checked: one class per source.

    ``given`` is the ``security_lake_source_names`` setting (None or {}: the defaults).

    Raises SettingsError naming the setting and what to do.
    """
    given = given or {}
    if not isinstance(given, Mapping):
        raise SettingsError("security_lake_source_names must be an object: stream -> source name")
    known = {setting_key(stream, cls): (stream, cls) for stream, cls in DEFAULT_SOURCE_NAMES}
    unknown = sorted(set(given) - set(known))
    if unknown:
        msg = (
            f"security_lake_source_names has unknown keys {', '.join(unknown)}: "
            f"use {', '.join(sorted(known))}"
        )
        raise SettingsError(msg)
    names = dict(DEFAULT_SOURCE_NAMES)
    for key, name in given.items():
        if not isinstance(name, str) or not SOURCE_NAME.fullmatch(name):
            msg = (
                f"security_lake_source_names.{key} must be a Security Lake source name "
                "(letters, digits, - and _, at most 64 characters)"
            )
            raise SettingsError(msg)
        names[known[key]] = name
    classes: dict[str, int] = {}
    for (_, cls), name in sorted(names.items()):
        if classes.setdefault(name, cls) != cls:
            msg = (
                f"security_lake_source_names: source {name!r} would hold two OCSF classes; "
                "Security Lake takes one class per source: give each its own name"
            )
            raise SettingsError(msg)
    return names


def check_security_lake_settings(config: Mapping[str, Any]) -> None:
    """One line for each way a security-lake configuration cannot work; nothing otherwise."""
    account = str(config.get("security_lake_account_id") or "")
    if not ACCOUNT_ID.fullmatch(account):
        msg = (
            "security_lake_account_id must be the 12-digit AWS account id of the Security "
            "Lake custom source (layout: security-lake)"
        )
        raise SettingsError(msg)
    if not REGION.fullmatch(str(config.get("region") or "")):
        raise SettingsError("layout: security-lake needs region: the Security Lake bucket's region")
    age = config.get("batch_max_age_seconds")  # absent: the default, 300
    if age is not None and float(age) < MIN_AGE_SECONDS:
        msg = (
            "batch_max_age_seconds must be at least 300 with layout: security-lake "
            "(Security Lake wants objects at most every 5 minutes)"
        )
        raise SettingsError(msg)
    source_names(config.get("security_lake_source_names"))
    # Imported here: runs of the endor layout start without the Parquet writer (issue 23).
    from target_s3_endor.formats.parquet import require_pyarrow  # noqa: PLC0415

    require_pyarrow()


def longest_key_bytes(settings: LayoutSettings) -> int:
    """The longest key this layout can write with ``settings``: a data object's.

    ``ext/<source>/region=<r>/accountId=<a>/eventDay=<YYYYMMDD>/<time>_<batch>.parquet``
    with the longest source name, the longest batch id and a 12-digit account (the
    layout's rule refuses any other); the target's own objects under ``ext/<source>/``
    (probes, proofs, manifests) add fewer bytes below the source than the partition
    folders do.  ``prefix`` and the exporter are no part of these keys.
    """
    sources = source_names(settings.security_lake_source_names).values()
    key = object_key(
        max(sources, key=len),
        region=str(settings.region or ""),
        account="0" * ACCOUNT_ID_LENGTH,
        day="YYYYMMDD",
        first_time_ms=0,
        batch="0" * naming.MAX_BATCH_ID_LENGTH,
    )
    return len(key.encode())


def check_key_length(settings: LayoutSettings) -> None:
    """Security Lake keys stay within S3's 1,024 bytes: only ``region`` can make them longer.

    Source names are at most 64 characters and the account 12 digits (both checked by
    ``check_security_lake_settings``); a region is the one part of unbounded length.
    """
    size = longest_key_bytes(settings)
    if size > naming.MAX_KEY_BYTES:
        region = str(settings.region or "")
        msg = (
            f"region of {len(region)} characters ({region[:20]!r}...) makes layout: "
            f"security-lake keys of up to {size} bytes, and S3 keys hold at most "
            f"{naming.MAX_KEY_BYTES}: set region to the Security Lake bucket's region "
            "(such as us-east-1)"
        )
        raise SettingsError(msg)


def event_moment(time_ms: int) -> datetime:
    """An OCSF ``time`` as a UTC datetime, exact for any year a record can hold (1-9999)."""
    return EPOCH + timedelta(milliseconds=time_ms)


def event_day(time_ms: int) -> str:
    """``YYYYMMDD`` of an OCSF ``time`` (four-digit years: strftime drops zeros on Linux)."""
    moment = event_moment(time_ms)
    return f"{moment.year:04d}{moment.month:02d}{moment.day:02d}"


def object_folder(source: str, *, region: str, account: str, day: str) -> str:
    """``ext/<source>/region=<r>/accountId=<a>/eventDay=<YYYYMMDD>``: a (source, day)'s folder."""
    return f"ext/{source}/region={region}/accountId={account}/eventDay={day}"


def object_key(
    source: str, *, region: str, account: str, day: str, first_time_ms: int, batch: str
) -> str:
    """``ext/<source>/region=<r>/accountId=<a>/eventDay=<YYYYMMDD>/<time>_<batch>.parquet``.

    The batch id makes the name unique, so no object replaces another's data.
    """
    first = event_moment(first_time_ms)
    folder = object_folder(source, region=region, account=account, day=day)
    return f"{folder}/{naming.compact_time(first)}_{batch}.parquet"


def proof_root(settings: LayoutSettings, stream: str) -> str:
    """``ext/<source>``: where a stream's proofs go (layouts/proof.py).

    The stream's first source name, so the provider role of that source, which
    may write only under ``ext/<source>/``, can write them.
    """
    names = source_names(settings.security_lake_source_names)
    own = sorted(name for (name_stream, _), name in names.items() if name_stream == stream)
    return naming.join_key("ext", (own or sorted(names.values()))[0])


def source_of(key: str) -> str:
    """The source name of a key under ``ext/<source>/``."""
    return key.split("/", 2)[1]


def source_roots(settings: LayoutSettings) -> list[str]:
    """``ext/<source>`` of every source, sorted: each source's provider role writes only there."""
    sources = set(source_names(settings.security_lake_source_names).values())
    return [naming.join_key("ext", source) for source in sorted(sources)]


def key_root(_exporter_root: str, key: str) -> str:
    """``ext/<source>`` of a key: a run's manifest for that source's objects goes under it.

    Security Lake's provider role for a custom source may write only under
    ``ext/<source>/``, so each source's objects are listed in a manifest there
    (in ``_manifests``, a ``_`` folder, which Hive-style readers skip), not under
    the Endor root.
    """
    return naming.join_key("ext", source_of(key))


LAYOUT = Layout(
    name=SECURITY_LAKE,
    # Named, not imported: the sink loads pyarrow, which only this layout's runs need.
    sink="target_s3_endor.batching.parquet_sink:SecurityLakeSink",
    check=check_security_lake_settings,
    key_rule=check_key_length,
    roots=source_roots,
    proof_root=lambda settings, _root, stream: proof_root(settings, stream),
    key_root=key_root,
    manifest_when_empty=False,
    # Objects are Parquet (zstd) at ext/<source>/...: no Endor format, container or root.
    ignored_settings=(
        "format",
        "compression",
        "compression_level",
        "prefix",
        "exporter_name",
        "exporter_uuid",
    ),
    ignored_because="objects there are OCSF events in zstd Parquet, at keys under ext/<source>/",
)
