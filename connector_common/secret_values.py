"""The secret values a plugin was given, to scrub from any error line it prints.

A setting's value reaches an error line when the SDK's config validation quotes
it (``987654321 is not of type 'string' in config['aws_secret_access_key']``)
or when a library's message does.  The settings marked ``secret`` in the
plugin's config schema name what to scrub, whether given in ``--config`` or in
the plugin's environment variables.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from typing import Any

#: Shorter values are not scrubbed: "***" for every "1" in a line helps nobody.
MIN_SECRET_LENGTH = 3


def secret_settings(config_schema: Mapping[str, Any]) -> list[str]:
    """Names of the settings the schema marks secret (singer-sdk's ``secret=True``)."""
    properties = config_schema.get("properties") or {}
    return [
        name for name, spec in properties.items() if isinstance(spec, dict) and spec.get("secret")
    ]


def secret_values(
    config: Mapping[str, Any], config_schema: Mapping[str, Any], env_prefix: str
) -> list[str]:
    """Every secret value given in ``config`` or as ``<env_prefix>_<SETTING>``."""
    values: list[str] = []
    for name in secret_settings(config_schema):
        given = config.get(name)
        if given is not None:
            values.append(str(given))
        values.append(os.environ.get(f"{env_prefix}_{name.upper()}", ""))
    return [value for value in values if len(value) >= MIN_SECRET_LENGTH]


def scrubbed(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every secret value replaced by ``***`` (longest first)."""
    for secret in sorted(secrets, key=len, reverse=True):
        text = text.replace(secret, "***")
    return text
