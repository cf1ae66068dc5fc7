"""The tap's settings: the config schema, endorctl's environment fallbacks, checks.

Setting names and environment variables are part of the interface (issue 3);
``tap-endorlabs --about --format=markdown`` prints this schema for the README.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import requests
from singer_sdk import typing as th

from connector_common.header_values import header_value_problems
from tap_endorlabs.errors import FatalTapError
from tap_endorlabs.filters import bare_date, unbalanced_parenthesis
from tap_endorlabs.origins import check_api_url_reach
from tap_endorlabs.retry import DEFAULT_BUDGET_SECONDS
from tap_endorlabs.timestamps import parse_timestamp

DEFAULT_API_URL = "https://api.endorlabs.com"

# Setting -> the environment variable endorctl reads for it (lowest precedence).
ENDORCTL_ENV = {
    "namespace": "ENDOR_NAMESPACE",
    "api_key": "ENDOR_API_CREDENTIALS_KEY",
    "api_secret": "ENDOR_API_CREDENTIALS_SECRET",
    "token": "ENDOR_TOKEN",
    "api_url": "ENDOR_API",
    "request_timeout": "ENDOR_API_TIMEOUT",
}

CONFIG_SCHEMA: dict[str, Any] = th.PropertiesList(
    th.Property(
        "namespace",
        th.StringType,
        required=True,
        title="Namespace",
        description=(
            "The Endor Labs tenant namespace to export, for example `acme`. "
            "Falls back to the ENDOR_NAMESPACE environment variable. No default."
        ),
    ),
    th.Property(
        "api_key",
        th.StringType,
        secret=True,
        title="API key",
        description=(
            "The Endor Labs API key (a Read-only key is enough), used with api_secret "
            "to obtain short-lived tokens. Falls back to ENDOR_API_CREDENTIALS_KEY. "
            "Set either api_key and api_secret, or token. No default."
        ),
    ),
    th.Property(
        "api_secret",
        th.StringType,
        secret=True,
        title="API secret",
        description=(
            "The secret of the API key. Falls back to ENDOR_API_CREDENTIALS_SECRET. No default."
        ),
    ),
    th.Property(
        "token",
        th.StringType,
        secret=True,
        title="Bearer token",
        description=(
            "A ready-made Endor Labs bearer token, used instead of api_key and api_secret; "
            "it cannot be renewed, so the run fails when it expires. Falls back to "
            "ENDOR_TOKEN. No default."
        ),
    ),
    th.Property(
        "api_url",
        th.StringType,
        default=DEFAULT_API_URL,
        title="API URL",
        description=(
            "The base URL of the Endor Labs API: https only (plain http only to localhost, "
            "127.0.0.1 or ::1), without user:password@; the tap sends its credentials to this "
            "origin only and follows no redirect elsewhere. Falls back to ENDOR_API. "
            f"Default: {DEFAULT_API_URL}."
        ),
    ),
    th.Property(
        "start_date",
        th.DateTimeType,
        title="Backfill start time",
        description=(
            "The earliest creation or completion time to export on the first run "
            "(RFC 3339, for example 2025-01-01T00:00:00Z); later runs continue from "
            "their saved state. Default: everything the API still holds."
        ),
    ),
    th.Property(
        "include_child_namespaces",
        th.BooleanType,
        default=False,
        title="Include child namespaces",
        description=(
            "Whether to export every namespace under the namespace too (listed at the start "
            "of each run, children of children included). State is kept per namespace, so a "
            "namespace that appears or becomes readable later is exported from start_date. "
            "Default: false."
        ),
    ),
    th.Property(
        "page_size",
        th.IntegerType(minimum=1, maximum=500),
        default=500,
        title="Page size",
        description="How many objects to request per page, from 1 to 500. Default: 500.",
    ),
    th.Property(
        "max_concurrent_requests",
        th.IntegerType(minimum=1, maximum=16),
        default=4,
        title="Concurrent requests",
        description=(
            "How many API requests the tap may have in flight at once, from 1 to 16: the "
            "time windows of a stream, the next scans' findings and the next namespaces are "
            "read ahead in parallel and emitted in order, so records and state are the same "
            "as one at a time. 1 reads one thing at a time. Default: 4."
        ),
    ),
    th.Property(
        "request_timeout",
        th.IntegerType(minimum=1),
        default=60,
        title="Request timeout",
        description=(
            "How many seconds the API may spend on one request before it gives up; "
            "sent as the Request-Timeout header. Falls back to ENDOR_API_TIMEOUT. "
            "Default: 60."
        ),
    ),
    th.Property(
        "retry_budget_seconds",
        th.IntegerType(minimum=1),
        default=DEFAULT_BUDGET_SECONDS,
        title="Retry budget",
        description=(
            "How many seconds the tap keeps retrying a request that fails in a way that "
            "may pass (HTTP 408, 429, 500, 502, 503, a 504 that came back early, a reset or cut "
            "connection, no answer in time): the same for the token exchange, the namespace "
            "listing and every page. Waits grow from 0.1 s up to a tenth of the budget "
            "(a Retry-After wins); when the budget is spent the run stops with one line "
            "naming what kept failing. Default: 300."
        ),
    ),
    th.Property(
        "window_hours",
        # Above zero: a zero-hour window never advances (the read spun forever).
        th.NumberType(exclusive_minimum=0),
        default=24,
        title="Initial time window",
        description=(
            "How many hours of data the first query of a time range asks for; the tap "
            "widens quiet windows and halves windows the API times out on. Default: 24."
        ),
    ),
    th.Property(
        "ssl_verify",
        th.BooleanType,
        default=True,
        title="Verify TLS certificates",
        description=(
            "Whether to verify the API's TLS certificate. Turn off only for a test server "
            "with a self-signed certificate. Default: true."
        ),
    ),
    th.Property(
        "progress_interval_seconds",
        th.NumberType(minimum=0),
        default=30,
        title="Progress interval",
        description=(
            "How many seconds apart the tap logs the progress of each stream and namespace "
            "(records so far, the time reached, the share of the time range done, the rate "
            "and the time left); 0 turns progress lines off. Default: 30."
        ),
    ),
    th.Property(
        "audit_log_filter",
        th.StringType,
        title="Audit log filter",
        description=(
            "An extra Endor Labs filter expression ANDed into every audit log query, "
            "for example `spec.operation==OPERATION_DELETE`. Default: none."
        ),
    ),
    th.Property(
        "finding_filter",
        th.StringType,
        title="Finding filter",
        description=(
            "An extra Endor Labs filter expression ANDed into every finding query (not "
            "finding logs: see finding_log_filter), for example "
            "`spec.level==FINDING_LEVEL_CRITICAL`. Default: none."
        ),
    ),
    th.Property(
        "finding_log_filter",
        th.StringType,
        title="Finding log filter",
        description=(
            "An extra Endor Labs filter expression ANDed into every finding log query, for "
            "example `spec.level==FINDING_LEVEL_CRITICAL`. Finding logs lack some finding "
            "fields (`spec.project_uuid`, `spec.summary`), which the API refuses in their "
            "filter. Default: none."
        ),
    ),
).to_dict()


def unset(value: object) -> bool:
    """True for a setting given as null or as empty text: "not set", so its default applies.

    ``{"api_url": ""}`` in tap.json, or ``TAP_ENDORLABS_API_URL=`` with
    ``--config=ENV``, reached the requests as "" and ended in a traceback
    (``Invalid URL '/v1/...'``), while the settings check read "" as the default.
    Blank is now dropped in one place (``TapEndorLabs``) before the schema fills
    in the defaults, so every reader sees the same value.
    """
    # Only "": spaces are a value (as in the target), refused by the setting's own check.
    return value is None or value == ""


def endorctl_env_fallbacks(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Settings found in endorctl's environment variables."""
    env = os.environ if environ is None else environ
    found: dict[str, Any] = {}
    for setting, variable in ENDORCTL_ENV.items():
        value = env.get(variable)
        if not value:
            continue
        if setting == "request_timeout":
            text = value.strip().rstrip("s")
            if not text.isdigit():
                continue
            found[setting] = int(text)
        else:
            found[setting] = value
    return found


def check_settings(config: Mapping[str, Any]) -> None:
    """Checks the schema cannot express, as one actionable line.

    Raises:
        FatalTapError: on missing or conflicting credentials or a bad start_date.
    """
    check_credential_text(config)
    has_pair = bool(config.get("api_key")) or bool(config.get("api_secret"))
    if config.get("token") and has_pair:
        msg = "Set either token or api_key/api_secret, not both (they are mutually exclusive)."
        raise FatalTapError(msg)
    if not config.get("token") and not (config.get("api_key") and config.get("api_secret")):
        msg = (
            "Missing credentials: set api_key and api_secret (ENDOR_API_CREDENTIALS_KEY/"
            "_SECRET) or token (ENDOR_TOKEN)."
        )
        raise FatalTapError(msg)
    for setting in ("audit_log_filter", "finding_filter"):
        if problem := unbalanced_parenthesis(str(config.get(setting) or "")):
            msg = (
                f"{setting}'s parentheses do not pair up ({problem}): the tap ANDs the "
                "filter with its own time window, so write a complete expression."
            )
            raise FatalTapError(msg)
        if found := bare_date(str(config.get(setting) or "")):
            msg = (
                f"{setting} compares with the bare date {found[0]}, which matches nothing: "
                f"write {found[1]} (dates go inside date(...))."
            )
            raise FatalTapError(msg)
    check_api_url(str(config.get("api_url", DEFAULT_API_URL)))
    start = config.get("start_date")
    if start is not None:
        try:
            parse_timestamp(str(start))
        except ValueError:
            msg = (
                f"start_date {str(start)!r} is not a date: use RFC 3339, "
                "for example 2025-01-01T00:00:00Z."
            )
            raise FatalTapError(msg) from None


#: The settings sent to the API as credentials: a header (token) or the exchange's body.
CREDENTIAL_SETTINGS = ("token", "api_key", "api_secret")


def check_credential_text(config: Mapping[str, Any]) -> None:
    """Refuse a credential with a line break, control or non-ASCII character (header_values.py).

    Raises:
        FatalTapError: naming the setting and its variables, never the value.
    """
    variables = {
        name: [f"TAP_ENDORLABS_{name.upper()}", ENDORCTL_ENV[name]] for name in CREDENTIAL_SETTINGS
    }
    if problems := header_value_problems(config, CREDENTIAL_SETTINGS, variables):
        raise FatalTapError(problems[0])


def check_api_url(url: str) -> None:
    """Reject an api_url requests cannot use, before the token exchange meets it.

    Raises:
        FatalTapError: naming api_url and what a good one looks like.
    """
    try:
        requests.Request("GET", url).prepare()
        usable = urlsplit(url).scheme in {"http", "https"}
    except (requests.RequestException, ValueError):
        usable = False
    if not usable:
        msg = (
            f"api_url {shown_text(url)!r} is not an http(s) URL: use {DEFAULT_API_URL} "
            "(or ENDOR_API), or your Endor Labs API's base URL."
        )
        raise FatalTapError(msg)
    check_api_url_reach(url)


def shown_text(url: str) -> str:
    """A bad api_url for its error line: cut short, with anything before an ``@`` hidden."""
    _, at, tail = url.rpartition("@")
    text = f"***@{tail}" if at else url
    return text[:100]
