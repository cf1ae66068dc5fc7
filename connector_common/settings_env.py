"""Settings given as environment variables (``--config=ENV``, ``.env``): read, or one line.

singer-sdk's ``parse_environment_config`` reads a yes/no setting as
``value.lower() in TRUTHY``, so a typo (``TARGET_S3_ENDOR_SSL_VERIFY=ture``) silently
means *false*: TLS verification off without a word.  It reads an integer setting
with ``int(value)``, so ``""``, ``"5.0"`` or ``"1e4"`` end in a ValueError traceback,
although a config file's ``"5.0"`` is read as 5.

An object setting's text that is not JSON (or is empty) was a JSONDecodeError
traceback.  Here the SDK still reads text settings (and loads ``.env``), but
yes/no, number, object and non-text array settings are read with the same
meaning as from a config file: an integer written as number text is that
number, empty text is "not set" (the default applies), and anything else is
one ``ConfigValidationError`` line naming the setting, its variable and what to
write.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from singer_sdk.configuration._dict_config import TRUTHY, parse_environment_config
from singer_sdk.exceptions import ConfigValidationError
from singer_sdk.helpers._typing import (
    is_array_type,
    is_boolean_type,
    is_integer_type,
    is_number_type,
    is_object_type,
    is_string_array_type,
)

from connector_common.settings_text import number_from_text

#: The SDK's words for "yes" (``TRUTHY``) and their opposites, read case-insensitively.
YES = frozenset(TRUTHY)
NO = frozenset({"false", "0", "no", "off"})

#: The private singer-sdk names this module relies on: each plugin lists them in SDK_PRIVATE_HOOKS.
SDK_PRIVATE_NAMES: dict[str, tuple[str, ...] | None] = {
    "singer_sdk.configuration._dict_config.parse_environment_config": ("config_schema", "prefix"),
    "singer_sdk.configuration._dict_config.TRUTHY": None,
    "singer_sdk.helpers._typing.is_boolean_type": ("property_schema",),
    "singer_sdk.helpers._typing.is_integer_type": ("property_schema",),
    "singer_sdk.helpers._typing.is_number_type": ("property_schema",),
    "singer_sdk.helpers._typing.is_object_type": ("property_schema",),
    "singer_sdk.helpers._typing.is_array_type": ("type_dict",),
    "singer_sdk.helpers._typing.is_string_array_type": ("type_dict",),
    "singer_sdk.plugin_base.PluginBase._env_var_config": None,
    "singer_sdk.plugin_base.PluginBase._env_var_prefix": None,
}


def _variable(prefix: str, name: str) -> str:
    return prefix + name.upper().replace("-", "_")


def _yes_no(name: str, variable: str, text: str) -> bool:
    word = text.strip().lower()
    if word in YES:
        return True
    if word in NO:
        return False
    msg = (
        f"{name} is neither true nor false ({variable}={text!r}): write true or false "
        f"(1/0, yes/no and on/off are read too), or leave it unset for its default"
    )
    raise ConfigValidationError(msg, errors=[msg])


def _integer(name: str, variable: str, text: str) -> int:
    number = number_from_text(text, integer=True)
    if number is None:
        msg = (
            f"{name} is not a whole number ({variable}={text!r}): write an integer "
            f"such as 5, or leave it unset for its default"
        )
        raise ConfigValidationError(msg, errors=[msg])
    return int(number)


def _json(name: str, variable: str, text: str, kind: type) -> Any:
    """An object or array setting's JSON text (the SDK's parse: a JSONDecodeError traceback)."""
    what = "object" if kind is dict else "array"
    try:
        value = json.loads(text, parse_float=Decimal)  # as a config file's numbers are read
    except ValueError:
        value = None
    if not isinstance(value, kind):
        example = '{"name": "value"}' if kind is dict else '["a", "b"]'
        msg = (
            f"{name} is not a JSON {what} ({variable}={text[:80]!r}): write one such as "
            f"{example}, or leave it unset for its default"
        )
        raise ConfigValidationError(msg, errors=[msg])
    return value


def _ours(prop: Mapping[str, Any]) -> bool:
    """A setting read here, not by the SDK: its reading of these fails silently or loudly."""
    schema = dict(prop)
    return bool(
        is_boolean_type(schema)
        or is_integer_type(schema)
        or is_number_type(schema)
        or is_object_type(schema)
        or (is_array_type(schema) and not is_string_array_type(schema))
    )


def environment_settings(schema: Mapping[str, Any], prefix: str) -> dict[str, Any]:
    """The settings the environment gives (``<PREFIX><NAME>`` variables, ``.env`` loaded).

    Raises:
        ConfigValidationError: a yes/no or integer setting's text means neither.
    """
    properties: Mapping[str, Any] = schema.get("properties", {})
    typed = {name: prop for name, prop in properties.items() if _ours(prop)}
    rest = {**schema, "properties": {k: v for k, v in properties.items() if k not in typed}}
    settings = parse_environment_config(rest, prefix)  # loads .env into os.environ first
    for name, prop in typed.items():
        variable = _variable(prefix, name)
        text = os.environ.get(variable)
        if text is None or not text.strip():
            continue  # empty means "not set", as an empty number does in a config file
        if is_boolean_type(prop):
            settings[name] = _yes_no(name, variable, text)
        elif is_integer_type(prop):
            settings[name] = _integer(name, variable, text)
        elif is_object_type(prop):
            settings[name] = _json(name, variable, text, dict)
        elif is_array_type(prop):
            settings[name] = _json(name, variable, text, list)
        else:  # a number: its text, read by settings_text.numbers_from_text as from a file
            settings[name] = text
    return settings
