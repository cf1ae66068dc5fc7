"""``TargetSettings``: the target's settings as one typed, frozen object, built once.

Before it, each module read the raw configuration itself (``config.get(...)``,
about 90 times), and restated the default and the conversion where it read:
``int(config.get("batch_max_bytes") or 64 << 20)`` in one module, ``64 * MIB``
in the schema, ``16 * MIB`` in a check.  Now the target builds this object once,
from the configuration singer-sdk validated, and hands it down; a reader reads
``settings.batch_max_bytes``, an ``int`` in bytes.

Every default comes from the schema's ``default`` (``schema.py``), so each is
written once.  Values are read as singer-sdk means them:

* absent or null: the schema's default (None for a setting without one);
* a number from a config file (singer-sdk reads ``0.5`` as ``Decimal``): a float;
* a number setting given as text (an environment variable, ``.env``, Meltano's
  ``kind: string``): the number it spells, converted here and nowhere else;
* an empty text for an optional text setting: not set (None, or the schema's
  default), as every reader treated it (``config.get(...) or default``); text of
  spaces is a value, as it was.  ``prefix: ""`` is a value: keys without a prefix.

Cross-setting rules and outside limits are checked on the raw configuration
first (``checks.py``, ``limits.py``), with one-line errors naming the setting.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from types import MappingProxyType
from typing import Any

from connector_common.settings_text import number_from_text
from target_s3_endor.errors import SettingsError
from target_s3_endor.settings.schema import SETTING_NAMES, SETTINGS_SCHEMA, schema_default

#: Text settings for which an empty text is a value, not "unset".
EMPTY_TEXT_IS_A_VALUE = frozenset({"prefix"})


def _types(name: str) -> set[str]:
    declared = SETTINGS_SCHEMA["properties"][name].get("type", [])
    return {declared} if isinstance(declared, str) else set(declared)


@dataclass(frozen=True, slots=True)
class TargetSettings:
    """Every setting of ``target-s3-endor``, typed, with its default applied.

    Field names are the settings' names; see ``schema.py`` (or ``--about``) for
    what each means.  Secrets are left out of ``repr``.
    """

    # Where objects go
    bucket: str
    region: str | None
    endpoint_url: str | None
    prefix: str  # key prefix segments; "" for none
    exporter_name: str
    exporter_uuid: str | None  # None: derived from exporter_name (uuid5)
    # What objects hold
    format: str  # a name in formats.encoding.FORMATS
    compression: str  # a name in formats.encoding.COMPRESSIONS
    compression_level: int  # zlib level, 1-9
    batch_max_records: int  # records
    batch_max_bytes: int  # bytes, uncompressed (spooled)
    max_concurrent_uploads: int  # objects in flight at once
    batch_max_age_seconds: float  # seconds
    # Credentials (secrets: never in repr)
    aws_access_key_id: str | None = field(repr=False)
    aws_secret_access_key: str | None = field(repr=False)
    aws_session_token: str | None = field(repr=False)
    aws_profile: str | None
    role_arn: str | None
    external_id: str | None = field(repr=False)
    web_identity_token_file: str | None
    sts_endpoint_url: str | None
    role_duration_seconds: int  # seconds
    # How objects are stored and uploaded
    server_side_encryption: str | None  # "AES256" | "aws:kms"
    sse_kms_key_id: str | None
    storage_class: str | None
    multipart_threshold_bytes: int  # bytes
    multipart_part_size_bytes: int  # bytes
    max_attempts: int  # tries per S3 request
    max_retry_seconds: int  # seconds; 0: only max_attempts
    request_checksum_calculation: str | None  # None: by endpoint (storage/transport.py)
    response_checksum_validation: str | None  # None: by endpoint
    connect_timeout_seconds: float  # seconds
    read_timeout_seconds: float  # seconds
    ssl_verify: bool
    # layout: security-lake
    layout: str  # "endor" | "security-lake"
    security_lake_account_id: str | None
    security_lake_source_names: Mapping[str, str]  # setting key -> source name ({}: defaults)
    # The run
    run_manifest: bool
    max_line_bytes: int  # bytes per input line
    spool_dir: str | None  # None: the system temporary directory

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> TargetSettings:
        """The settings of a configuration (singer-sdk's validated one, or a plain dict).

        Raises:
            SettingsError: a setting that cannot be read as its type, named.
        """
        return cls(**{name: _value(name, config.get(name)) for name in SETTING_NAMES})


def _value(name: str, given: Any) -> Any:
    """One setting's value as the model holds it (see the module docstring)."""
    types = _types(name)
    default = schema_default(name)
    if isinstance(given, str) and name not in EMPTY_TEXT_IS_A_VALUE and _blank(given, types):
        given = None  # empty text: not set
    if given is None:
        given = default
    if "integer" in types:
        return None if given is None else _number(name, given, integer=True)
    if "number" in types:
        return None if given is None else float(_number(name, given, integer=False))
    if "boolean" in types:
        if given is not None and not isinstance(given, bool):
            # bool("false") is True: text must not reach here (singer-sdk reads "false" from
            # the environment as False, and its validation refuses text in a config file).
            raise SettingsError(f"{name} must be true or false")
        return bool(given)
    if "object" in types:
        given = given if given is not None else {}
        if not isinstance(given, Mapping):
            raise SettingsError(f"{name} must be an object: stream -> source name")
        return MappingProxyType(dict(given))
    return None if given is None else str(given)


def _blank(text: str, types: set[str]) -> bool:
    """Text that means "not set".

    For a text setting only "" does, as every reader did before this model
    (``config.get(name) or default``): ``"  "`` is a value, and an exporter_uuid
    or exporter_name of spaces keeps naming the key root it named (the roots of
    existing objects and proofs).  For a number or yes/no setting, spaces spell
    nothing, so they too are "not set" (as for ``--config=ENV``, settings_env.py).
    """
    return text == "" or ("string" not in types and not text.strip())


def _number(name: str, value: Any, *, integer: bool) -> int | float:
    if isinstance(value, str):
        number = number_from_text(value, integer=integer)
        if number is not None:
            return number
    elif not isinstance(value, bool) and isinstance(value, int | float | Decimal):
        # singer-sdk reads a config file's non-integers as Decimal.
        if not integer:
            return float(value)
        if float(value).is_integer():
            return int(value)
    kind = "a whole number" if integer else "a number"
    raise SettingsError(f"{name} must be {kind}")
