"""Rules the JSON Schema cannot express: settings that go together, and every outside limit.

They run on the configuration singer-sdk validated, before ``TargetSettings`` is
built from it (``model.py``) and before any input is read, in a run and in
``--test``: each broken rule is one ``SettingsError`` line naming the setting and
what to do.  An absent setting takes its schema default, which every rule accepts.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from connector_common.header_values import header_value_problems
from target_s3_endor.errors import SettingsError
from target_s3_endor.formats.encoding import COMPRESSIONS, FORMATS
from target_s3_endor.layouts.registry import layout_of
from target_s3_endor.settings.limits import check_limits
from target_s3_endor.settings.model import TargetSettings
from target_s3_endor.storage.endpoints import check_endpoints

#: The one ``load_method`` of the SDK's three this target does.
APPEND_ONLY = "append-only"
#: More concurrent uploads than this gain nothing on 2 cores and only hold files open.
MAX_UPLOADS = 64


def check_settings(config: Mapping[str, Any]) -> None:
    """Reject setting combinations the schema cannot express, naming the setting."""
    check_header_values(config)
    if bool(config.get("aws_access_key_id")) != bool(config.get("aws_secret_access_key")):
        msg = "aws_access_key_id and aws_secret_access_key must be set together"
        raise SettingsError(msg)
    if config.get("external_id") and not config.get("role_arn"):
        raise SettingsError("external_id needs role_arn (the role to assume)")
    if config.get("web_identity_token_file") and not config.get("role_arn"):
        raise SettingsError("web_identity_token_file needs role_arn (the role to assume)")
    if config.get("sse_kms_key_id") and config.get("server_side_encryption") != "aws:kms":
        raise SettingsError("sse_kms_key_id needs server_side_encryption: aws:kms")
    if "format" in config and config["format"] not in FORMATS:
        raise SettingsError(f"format must be one of {', '.join(FORMATS)}")
    if "compression" in config and config["compression"] not in COMPRESSIONS:
        raise SettingsError(f"compression must be one of {', '.join(COMPRESSIONS)}")
    check_load_method(config)
    check_compression_level(config)
    check_max_concurrent_uploads(config)
    check_limits(config)  # each setting against the S3/STS limit it names
    check_endpoints(config)  # no userinfo, no plain-http STS (endpoints.py)
    layout_of(config).check(config)  # the layout's own rules (layouts/registry.py)


def ignored_setting_lines(config: Mapping[str, Any]) -> list[str]:
    """One warning line per setting given that the layout never reads (``Layout.ignored_settings``).

    ``format: sarif`` under ``layout: security-lake`` changes nothing, and silence would
    let the user believe it did.  A setting at its default is not warned about: Meltano
    passes every setting ``meltano.yml`` gives a value, and the user chose none of those.
    "At its default" is judged on the typed settings, so ``"3"`` from an environment
    variable is the default 3, and an empty ``security_lake_source_names`` is no setting.
    """
    layout = layout_of(config)
    given = TargetSettings.from_config(config)
    lines = []
    for name in layout.ignored_settings:
        if name not in config:
            continue
        unset = TargetSettings.from_config({k: v for k, v in config.items() if k != name})
        if getattr(given, name) != getattr(unset, name):
            lines.append(
                f"{name} is ignored under layout: {layout.name} ({layout.ignored_because}); "
                "remove it from the settings"
            )
    return lines


#: Settings sent in an HTTP header (or a signed STS request): the static credentials,
#: the external id and the KMS key id (``x-amz-server-side-encryption-aws-kms-key-id``).
HEADER_SETTINGS = (
    "aws_access_key_id",
    "aws_secret_access_key",
    "aws_session_token",
    "external_id",
    "sse_kms_key_id",
)


def check_header_values(config: Mapping[str, Any]) -> None:
    r"""Refuse a header-bound value with a line break, control or non-ASCII character.

    ``Invalid header value b'...\n'`` came from botocore at the first request, the
    secret in it; checked here, the line names the setting and never the value.
    """
    variables = {name: [f"TARGET_S3_ENDOR_{name.upper()}"] for name in HEADER_SETTINGS}
    if problems := header_value_problems(config, HEADER_SETTINGS, variables):
        raise SettingsError(problems[0])


def check_load_method(config: Mapping[str, Any]) -> None:
    """The SDK's ``load_method``: only ``append-only`` is what this target does.

    An export to S3 only ever adds objects (an audit trail is kept, not edited): the
    SDK offers ``upsert`` and ``overwrite`` on every target, and taken silently they
    would promise a bucket that replaces or deletes what it held.
    """
    method = config.get("load_method")
    method = getattr(method, "value", method)  # the SDK's default is its TargetLoadMethods enum
    if method is None or str(method) in {"", APPEND_ONLY}:
        return
    msg = (
        f"load_method {str(method)!r} is not what this target does: it only adds objects "
        f"(existing ones are never replaced or deleted); remove load_method or set {APPEND_ONLY}"
    )
    raise SettingsError(msg)


def check_max_concurrent_uploads(config: Mapping[str, Any]) -> None:
    """How many objects may be uploading at once (``storage/upload_pool.py``): 1 to 64."""
    _check_whole_number(
        config,
        "max_concurrent_uploads",
        range(1, MAX_UPLOADS + 1),
        f"from 1 (one upload after another) to {MAX_UPLOADS}",
    )


def check_compression_level(config: Mapping[str, Any]) -> None:
    """The zlib level for zip and gzip objects must be one zlib accepts."""
    _check_whole_number(
        config, "compression_level", range(1, 10), "from 1 (fastest) to 9 (smallest)"
    )


def _check_whole_number(config: Mapping[str, Any], name: str, allowed: range, words: str) -> None:
    """``name``, when given, must be a whole number in ``allowed`` (absent: the default)."""
    if name not in config:
        return
    value = config[name]
    if isinstance(value, bool) or not isinstance(value, int) or value not in allowed:
        raise SettingsError(f"{name} must be a whole number {words}")
