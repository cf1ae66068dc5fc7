"""The secret values a plugin was given, to scrub from any error line it prints.

A setting's value reaches an error line when the SDK's config validation quotes
it (``987654321 is not of type 'string' in config['aws_secret_access_key']``)
or when a library's message does.  The settings marked ``secret`` in the
plugin's config schema name what to scrub, whether given in ``--config``, in
the plugin's environment variables, or in another variable the plugin falls back
to (the tap reads endorctl's ``ENDOR_API_CREDENTIALS_SECRET``).
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
    config: Mapping[str, Any],
    config_schema: Mapping[str, Any],
    env_prefix: str,
    fallback_env: Mapping[str, str] | None = None,
) -> list[str]:
    """Every secret value given in ``config``, in its variable, or in its fallback variable.

    ``<env_prefix>_<SETTING>`` is the plugin's variable; ``fallback_env`` names another
    one a setting is read from (the tap's endorctl variables).

    A value of the wrong type (a number, a list) is scrubbed as the validator quotes
    it (``str``) and, for a list or object, each text inside it as well.
    """
    values: list[str] = []
    for name in secret_settings(config_schema):
        given = config.get(name)
        if given is not None:
            values.append(str(given))
            values.extend(_texts_inside(given))
        values.append(os.environ.get(f"{env_prefix}_{name.upper()}", ""))
        if fallback_env and name in fallback_env:
            values.append(os.environ.get(fallback_env[name], ""))
    return [value for value in values if len(value) >= MIN_SECRET_LENGTH]


def _texts_inside(value: Any) -> list[str]:
    """The texts and numbers held in a list or object, at any depth, as text."""
    if isinstance(value, Mapping):
        return [text for item in value.values() for text in [str(item), *_texts_inside(item)]]
    if isinstance(value, list | tuple):
        return [text for item in value for text in [str(item), *_texts_inside(item)]]
    return []


def scrubbed(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every secret value replaced by ``***`` (longest first)."""
    for secret in sorted(secrets, key=len, reverse=True):
        text = text.replace(secret, "***")
    return text
