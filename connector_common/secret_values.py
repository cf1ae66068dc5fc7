"""The secret values a plugin was given, to scrub from any error line it prints.

A setting's value reaches an error line when the SDK's config validation quotes
it (``987654321 is not of type 'string' in config['aws_secret_access_key']``)
or when a library's message does.  The settings marked ``secret`` in the
plugin's config schema name what to scrub, whether given in ``--config``, in
the plugin's environment variables, or in another variable the plugin falls back
to (the tap reads endorctl's ``ENDOR_API_CREDENTIALS_SECRET``).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
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


#: Characters that join a word or an identifier (Unicode letters, digits, ``_``, ``-``).
_JOINER = r"[\w-]"
#: What may stand right before a secret although it ends in a joiner: an escape sequence
#: (``\n``, ``\x0b``, ``\u2028``, ``%2F``) ends a character of the message, not the word.
_AFTER_ESCAPE = (
    r"(?<=\\[a-zA-Z])|(?<=\\x[0-9a-fA-F]{2})|(?<=\\u[0-9a-fA-F]{4})|(?<=%[0-9a-fA-F]{2})"
)


def shown_forms(secret: str) -> set[str]:
    r"""Every form a message may carry ``secret`` in: raw, repr-, JSON- and bytes-escaped.

    ``http.client`` quotes a header value as bytes (``b'Bearer ...\n'``), the SDK's
    validator and most exceptions as repr, JSON errors with JSON escapes; the raw
    value alone was all the scrubbing knew, so ``...\n`` went out whole.
    """
    forms = {secret, repr(secret)[1:-1], json.dumps(secret)[1:-1]}
    forms.add(json.dumps(secret, ensure_ascii=False)[1:-1])
    forms.add(secret.encode("unicode_escape").decode("ascii"))
    forms.add(repr(secret.encode("utf-8", "surrogatepass"))[2:-1])
    with contextlib.suppress(UnicodeEncodeError):  # http.client's encoding of headers
        forms.add(repr(secret.encode("latin-1"))[2:-1])
    return {form for form in forms if len(form) >= MIN_SECRET_LENGTH}


def _whole(form: str) -> str:
    r"""A pattern for ``form`` standing as a whole, not inside a longer word.

    An edge of the secret that is a joiner must meet a non-joiner (or the end of the
    text, or an escape sequence) on that side: ``test`` is scrubbed in ``key 'test'``,
    ``=test&`` and ``\ntest``, not in ``fastest`` or ``_connection-test``.  Why this is
    safe: a message that carries the value carries it as a value (quoted, after ``=``,
    ``:`` or a space, in a header or a URL), never glued to letters of another word,
    and an edge that is not a joiner (``+``, ``/``, ``=``) is matched anywhere.
    Scrubbing inside words garbled the plugins' own text (``fas***``) and gave a short
    secret away (``Endor Labs *** the API key`` spells the secret ``rejected``).  What
    this rule cannot tell apart: a secret equal to a whole word of the message's own
    text (``number`` in ``must be a whole number``) is still scrubbed there; that
    reveals only a secret already guessable, and leaking the value is worse.
    """
    head = f"(?:(?<!{_JOINER})|{_AFTER_ESCAPE})" if re.match(_JOINER, form[0]) else ""
    tail = f"(?!{_JOINER})" if re.match(_JOINER, form[-1]) else ""
    return f"{head}{re.escape(form)}{tail}"


def scrubbed(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every whole occurrence of a secret, in any form, replaced by ``***``.

    Longest forms first, so a secret holding another is scrubbed whole.
    """
    forms = sorted({form for secret in secrets for form in shown_forms(secret)}, key=len)
    for form in reversed(forms):
        text = re.sub(_whole(form), "***", text)
    return text
