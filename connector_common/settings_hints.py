"""Misspelled setting names: a warning with the nearest valid name.

The SDK ignores settings it does not know, so ``start_time`` instead of
``start_date`` silently exports everything.  Each unknown name is warned about
with the nearest valid one (difflib), and when a run then fails for a setting
that is missing, the error names the misspelling too.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Collection, Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from singer_sdk.exceptions import ConfigValidationError

from connector_common.lines import exception_line


def misspelled(given: Iterable[str], known: Collection[str]) -> dict[str, str | None]:
    """Each unknown setting name -> the nearest known one, or None when none is near."""
    hints: dict[str, str | None] = {}
    for name in given:
        if name not in known:
            nearest = difflib.get_close_matches(name, list(known), n=1, cutoff=0.6)
            hints[name] = nearest[0] if nearest else None
    return hints


def warning_text(name: str, nearest: str | None) -> str:
    """One warning line for an unknown setting."""
    if nearest is None:
        return f"Unknown setting {name!r} is ignored (see --about for the settings)"
    return f"Unknown setting {name!r} is ignored: did you mean {nearest!r}?"


def unset_hints(hints: Mapping[str, str | None], config: Mapping[str, Any], error: str) -> str:
    """The misspellings behind an ``error`` about a setting they leave unset."""
    found = [
        f"{name!r} is set instead of {nearest!r}"
        for name, nearest in hints.items()
        if nearest is not None and config.get(nearest) in (None, "") and nearest in error
    ]
    return f"{'; '.join(found)}: did you misspell it?" if found else ""


_REQUIRED = re.compile(r"'([A-Za-z_][A-Za-z0-9_]*)' is a required property")


def what_to_do(errors: Iterable[str], env_prefix: str) -> list[str]:
    """The SDK's config errors, each missing setting with where to set it.

    jsonschema says only "'bucket' is a required property"; a new user needs to hear
    which file or variable takes it.
    """
    return [
        f"{error}: set {match.group(1)} in the config file, or "
        f"{env_prefix}_{match.group(1).upper()} with --config=ENV or Meltano"
        if (match := _REQUIRED.fullmatch(error.strip()))
        else error
        for error in errors
    ]


def known_settings(plugin: Any) -> list[str]:
    """Every setting name a plugin class accepts, the SDK's built-in ones included."""
    schema = plugin.config_jsonschema
    plugin.append_builtin_config(schema)
    return list(schema.get("properties", {}))


@contextmanager
def explained_settings(
    plugin: Any, config: object, env_prefix: str, plain: type[Exception]
) -> Iterator[None]:
    """Warn about each misspelled setting in ``config``; explain a failure of the block.

    The block builds and checks the plugin.  When it fails for a setting a misspelling
    leaves unset, the error names the misspelling (a ``plain`` error, or the SDK's
    ``ConfigValidationError``); a missing setting says where to set it.  ``config``
    that is not a mapping (file paths, for the SDK to read) has no names to check.
    """
    given: Mapping[str, Any] = config if isinstance(config, Mapping) else {}
    hints = misspelled(given, known_settings(type(plugin)))
    for name, nearest in hints.items():
        plugin.logger.warning("%s", warning_text(name, nearest))
    try:
        yield
    except plain as exc:
        if hint := unset_hints(hints, given, str(exc)):
            raise plain(f"{exception_line(exc)} ({hint})") from None
        raise
    except ConfigValidationError as exc:
        errors = what_to_do(exc.errors, env_prefix)
        if hint := unset_hints(hints, given, " ".join(exc.errors)):
            errors.append(hint)
        raise ConfigValidationError(str(exc), errors=errors, schema=exc.schema) from None
