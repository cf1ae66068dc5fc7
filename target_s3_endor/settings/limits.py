r"""Every setting checked at start against the outside limit it names.

A value the JSON Schema accepts can still be one S3, STS or zlib refuses, and
then the run fails only at its first multipart upload or role refresh, after
``--test`` said OK.  Each rule here names the setting, the limit and what to
do, in one line; the target runs them before reading input and in ``--test``.

Limits, with their sources:

* S3 multipart: parts of 5 MiB to 5 GiB, at most 10,000 parts; a single PUT
  holds at most 5 GiB and an object at most 5 TiB (Amazon S3 User Guide,
  "Amazon S3 multipart upload limits").
* S3 keys: at most 1024 bytes of UTF-8 (User Guide, "Naming Amazon S3 objects"),
  each layout by its own rule (``Layout.key_rule``): the Endor layout budgets its
  ``{prefix}/{exporter}`` root, Security Lake its ``ext/<source>/region=...`` keys.
* Bucket names: 3 to 63 characters of lowercase letters, digits, dots and
  hyphens, starting and ending with a letter or digit (User Guide, "General
  purpose bucket naming rules"); buckets made in us-east-1 before March 2018
  may hold capitals and underscores and up to 255 characters, so those pass.
* STS ``DurationSeconds``: 900 to 43,200 seconds; ``ExternalId``: 2 to 1,224
  characters of ``[\w+=,.@:/-]`` (AWS STS API reference, AssumeRole).
* Storage classes: botocore's own S3 model.
* zlib levels 1 to 9 (``compression_level``, checked in checks.py).
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from target_s3_endor.errors import SettingsError
from target_s3_endor.layouts.registry import layout_of
from target_s3_endor.settings.model import TargetSettings
from target_s3_endor.settings.schema import schema_default
from target_s3_endor.storage.region import RULE as REGION_RULE
from target_s3_endor.storage.region import botocore_takes

KIB = 1 << 10
MIB = 1 << 20
GIB = 1 << 30
TIB = 1 << 40
MIN_PART = 5 * MIB
MAX_PART = 5 * GIB
MAX_PARTS = 10_000
MAX_SINGLE_PUT = 5 * GIB
MAX_OBJECT = 5 * TIB
# An object is a batch's bytes compressed, framed and wrapped: at worst (data
# deflate cannot shrink) a little larger than the batch.  1% plus 1 MiB covers
# deflate's worst case (~0.03%) and the zip framing.
OBJECT_GROWTH = 1.01
OBJECT_OVERHEAD = MIB

_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_LEGACY_BUCKET = re.compile(r"^[A-Za-z0-9._-]{3,255}$")
_IP_ADDRESS = re.compile(r"^\d+\.\d+\.\d+\.\d+$")
_AWS_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d{1,2}$")
_ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]{1,512}$")
_EXTERNAL_ID = re.compile(r"^[\w+=,.@:/-]{2,1224}$")
_KMS_KEY = re.compile(
    r"^(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
    r"|mrk-[0-9a-f]{32}"
    r"|alias/[\w/+=,.@-]{1,250}"
    r"|arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:(?:key|alias)/[\w/+=,.@-]{1,250})$"
)


@dataclass(frozen=True)
class Range:
    """A numeric setting's bounds (``None``: unbounded) and the limit they come from."""

    setting: str
    low: float
    high: float | None
    limit: str  # what the outside world allows, for the error line

    def check(self, config: Mapping[str, Any]) -> None:
        """Raise a one-line SettingsError when the value is outside the bounds."""
        value = config.get(self.setting)
        # A config file's non-integers arrive as Decimal (singer-sdk's JSON reader).
        number = int | float | Decimal
        if value is None or isinstance(value, bool) or not isinstance(value, number):
            return  # absent, or a type error the JSON Schema names
        if value < self.low or (self.high is not None and value > self.high):
            bounds = (
                f"at least {_amount(self.low)}"
                if self.high is None
                else f"from {_amount(self.low)} to {_amount(self.high)}"
            )
            msg = f"{self.setting} is {value}: {self.limit}; set it {bounds}"
            raise SettingsError(msg)


def _amount(number: float) -> str:
    """A number as written in the error line, with its size in KiB/MiB/GiB/TiB."""
    for unit, size in (("TiB", TIB), ("GiB", GIB), ("MiB", MIB)):
        if number >= size and number % size == 0:
            return f"{int(number)} ({int(number // size)} {unit})"
    return f"{number:g}"


RANGES = (
    Range("multipart_part_size_bytes", MIN_PART, MAX_PART, "S3 takes parts of 5 MiB to 5 GiB"),
    Range("multipart_threshold_bytes", 1, MAX_SINGLE_PUT, "one S3 PutObject holds at most 5 GiB"),
    Range("batch_max_records", 1, None, "a batch holds at least one record"),
    Range("batch_size_rows", 1, None, "a batch holds at least one record"),
    Range("batch_max_bytes", 1, MAX_OBJECT, "an S3 object holds at most 5 TiB"),
    Range(
        "batch_max_age_seconds",
        0,
        None,
        "a batch's age cannot be negative (0 uploads after every record)",
    ),
    Range(
        "role_duration_seconds",
        900,
        43_200,
        "STS issues role sessions of 15 minutes to 12 hours (and no longer than the role's "
        "maximum session duration)",
    ),
    Range("max_attempts", 1, None, "each S3 request is tried at least once"),
    Range("connect_timeout_seconds", 0.001, None, "a time-out must be positive"),
    Range("read_timeout_seconds", 0.001, None, "a time-out must be positive"),
    Range(
        "max_retry_seconds",
        0,
        None,
        "a retry budget cannot be negative (0: no retries past max_attempts)",
    ),
    Range("max_line_bytes", 1024, None, "a Singer message line needs room for its envelope"),
)


def _parts_fit(config: Mapping[str, Any]) -> None:
    """A full batch's object must fit in 10,000 parts of the configured size."""
    part = config.get("multipart_part_size_bytes", schema_default("multipart_part_size_bytes"))
    batch = config.get("batch_max_bytes", schema_default("batch_max_bytes"))
    largest = batch * OBJECT_GROWTH + OBJECT_OVERHEAD
    if part * MAX_PARTS < largest:
        needed = math.ceil(largest / MAX_PARTS / MIB) * MIB
        msg = (
            f"batch_max_bytes {batch} needs objects of up to {int(largest)} bytes, but S3 takes "
            f"at most 10,000 parts of multipart_part_size_bytes {part}: raise "
            f"multipart_part_size_bytes to at least {needed} or lower batch_max_bytes"
        )
        raise SettingsError(msg)


def _bucket(config: Mapping[str, Any]) -> None:
    # Checked as it is used: " BKT " or "bkt2\n" is refused here, in one line showing the
    # whitespace, not at the first upload ("Invalid bucket name" / "does not exist").
    bucket = str(config.get("bucket") or "")
    if not bucket:
        raise SettingsError("bucket is required: the S3 bucket to write to")
    if _BUCKET.fullmatch(bucket) and ".." not in bucket and not _IP_ADDRESS.fullmatch(bucket):
        return
    if _LEGACY_BUCKET.fullmatch(bucket) and not bucket.startswith("s3:"):
        return  # an old us-east-1 name, or one an S3-compatible store allows
    msg = (
        f"bucket {bucket[:80]!r} is not an S3 bucket name (3-63 lowercase letters, digits, dots "
        "and hyphens): give the bucket's name alone, put any folder in prefix"
    )
    raise SettingsError(msg)


def _region(config: Mapping[str, Any]) -> None:
    region = config.get("region")
    if not region:
        return
    # An S3-compatible store names its regions as it likes (``auto``, ``garage``), within
    # what botocore takes; AWS's own are shaped like us-east-1.
    if not botocore_takes(str(region)):
        msg = (
            f"region {str(region)[:40]!r} is not an AWS region name such as us-east-1 nor a "
            f"store's region botocore takes ({REGION_RULE}): set the bucket's region "
            "(with endpoint_url: the store's own name, e.g. auto)"
        )
        raise SettingsError(msg)
    if not config.get("endpoint_url") and not _AWS_REGION.fullmatch(str(region)):
        msg = (
            f"region {str(region)[:40]!r} is not an AWS region name such as us-east-1 or "
            "eu-west-3: set the bucket's region"
        )
        raise SettingsError(msg)


def _urls(config: Mapping[str, Any]) -> None:
    for setting in ("endpoint_url", "sts_endpoint_url"):
        value = config.get(setting)
        if not value:
            continue
        # urlsplit drops spaces and line breaks that boto3 is then given: refuse them here.
        parts = urlsplit(str(value))
        spaced = any(char.isspace() for char in str(value))
        if spaced or parts.scheme not in {"http", "https"} or not parts.hostname:
            msg = (
                f"{setting} {str(value)[:80]!r} is not an http(s) URL: write it as "
                "https://host[:port]"
            )
            raise SettingsError(msg)


def _key_length(config: Mapping[str, Any]) -> None:
    """The layout's own key-length rule: every key it writes within S3's 1024 bytes.

    Each layout's keys have their own shape (``Layout.key_rule``): the Endor layout's
    root is ``{prefix}/{exporter}``; Security Lake keys start ``ext/<source>/`` and
    hold no prefix, so a long prefix, which that layout ignores, is no reason to refuse.
    """
    layout_of(config).key_rule(TargetSettings.from_config(config))


def _role(config: Mapping[str, Any]) -> None:
    role_arn = config.get("role_arn")
    if role_arn and not _ROLE_ARN.fullmatch(str(role_arn)):
        msg = (
            f"role_arn {str(role_arn)[:120]!r} is not an IAM role ARN: write it as "
            "arn:aws:iam::<12-digit account>:role/<name>"
        )
        raise SettingsError(msg)
    external_id = config.get("external_id")
    if external_id and not _EXTERNAL_ID.fullmatch(str(external_id)):
        # The value is secret: the line names its length, never the value.
        msg = (
            f"external_id ({len(str(external_id))} characters) is not one STS accepts: 2 to "
            "1,224 letters, digits and +=,.@:/-_; use the id the role's trust policy names"
        )
        raise SettingsError(msg)


@lru_cache(maxsize=1)
def storage_classes() -> frozenset[str]:
    """The storage classes in botocore's S3 model: the SDK's own, current list."""
    import botocore.session  # noqa: PLC0415 - loads the S3 model only when needed
    from botocore.model import StringShape  # noqa: PLC0415

    shape = botocore.session.get_session().get_service_model("s3").shape_for("StorageClass")
    return frozenset(shape.enum) if isinstance(shape, StringShape) else frozenset()


def _encryption_and_class(config: Mapping[str, Any]) -> None:
    storage_class = config.get("storage_class")
    classes = storage_classes() if storage_class else frozenset()
    if classes and storage_class not in classes:
        msg = (
            f"storage_class {str(storage_class)[:40]!r} is not an S3 storage class: use one "
            f"of {', '.join(sorted(classes))}"
        )
        raise SettingsError(msg)
    sse = config.get("server_side_encryption")
    if sse and sse not in {"AES256", "aws:kms"}:
        msg = f"server_side_encryption {str(sse)[:40]!r} is not supported: use AES256 or aws:kms"
        raise SettingsError(msg)
    key_id = config.get("sse_kms_key_id")
    if key_id and not _KMS_KEY.fullmatch(str(key_id)):
        msg = (
            f"sse_kms_key_id {str(key_id)[:120]!r} is not a KMS key id, key ARN, alias/name or "
            "alias ARN: copy it from the KMS console"
        )
        raise SettingsError(msg)


def _spool_dir(config: Mapping[str, Any]) -> None:
    spool_dir = config.get("spool_dir")
    if not spool_dir:
        return
    path = Path(str(spool_dir))
    if not path.is_dir() or not os.access(path, os.W_OK | os.X_OK):
        msg = (
            f"spool_dir {str(spool_dir)[:120]!r} is not a directory this user can write: "
            "create it or leave spool_dir unset"
        )
        raise SettingsError(msg)


CHECKS: tuple[Callable[[Mapping[str, Any]], None], ...] = (
    *(rule.check for rule in RANGES),
    _parts_fit,
    _bucket,
    _region,
    _urls,
    _key_length,
    _role,
    _encryption_and_class,
    _spool_dir,
)


def check_limits(config: Mapping[str, Any]) -> None:
    """Run every rule; the first broken one raises its one-line SettingsError."""
    for check in CHECKS:
        check(config)
