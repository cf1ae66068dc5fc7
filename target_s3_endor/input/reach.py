"""What a Singer input may make the target open: nothing but the BATCH files it names.

A tap's output is input from outside: the target must not fetch, read or
reveal anything because a message names it.  Two places could:

* a SCHEMA's ``$ref`` (or ``$schema``, ``$dynamicRef``): a JSON Schema library
  resolves a reference to another document by fetching it, over HTTP (server-side
  request forgery: from a cloud host, the instance metadata service) or from a
  local file (the target's own config file, with the AWS secret key in it).  Only
  references within the SCHEMA message itself (``#/definitions/...``,
  ``#/$defs/...``, an embedded ``$id``) and the standard meta-schemas bundled
  with the validator are resolved; ``NoRetrieval`` refuses every other;
* a BATCH message's manifest: its files are opened by design, but only through
  the schemes singer-sdk documents for BATCH (a local path, ``file://`` and
  ``s3://``); ``http(s)://``, ``ftp://`` and fsspec's other protocols or chains
  (``simplecache::http://...``) are refused before anything is opened.

Errors about a refused location name its scheme and never its content: the
message must not carry what a schema or a record holds.
"""

from __future__ import annotations

import re
from typing import NoReturn
from urllib.parse import urlsplit

#: Schemes a BATCH manifest may use: singer-sdk's BATCH documentation names "a
#: local filesystem or AWS S3".  A bare path (no scheme) is local as well.
BATCH_SCHEMES = frozenset({"file", "s3"})
_SCHEME = re.compile(r"[a-z][a-z0-9+.-]{0,19}")
RESOLVED = "only references within the SCHEMA message (#/...) are resolved"


class RetrievalRefused(ValueError):
    """A schema named a document outside its message; the validator must not fetch it."""


def scheme_of(uri: str) -> str:
    """The URI's scheme for an error line (``file``, ``http``), never the rest of it."""
    try:
        scheme = urlsplit(uri).scheme
    except ValueError:
        scheme = ""
    return scheme if _SCHEME.fullmatch(scheme) else "unnamed"


class NoRetrieval:
    """A jsonschema-rs ``retriever`` that fetches nothing and remembers what it refused.

    jsonschema-rs calls the retriever for every reference its registry does
    not hold (its default retriever reads ``file://`` and fetches ``http(s)://``
    URIs).  This one raises instead, so compiling the schema fails and
    ``refusal`` says why in words that hold no part of the schema.
    """

    def __init__(self) -> None:
        self.refused_schemes: list[str] = []

    def __call__(self, uri: str) -> NoReturn:
        """Refuse ``uri``: record its scheme, fetch nothing."""
        self.refused_schemes.append(scheme_of(uri))
        msg = "outside references are not resolved"
        raise RetrievalRefused(msg)

    @property
    def refusal(self) -> str | None:
        """The one-line reason a schema was refused, or None when nothing was."""
        if not self.refused_schemes:
            return None
        scheme = self.refused_schemes[0]
        return f"a $ref or $schema names a {scheme}: document outside the message: {RESOLVED}"


def batch_url_problem(url: str) -> str | None:
    """Why a BATCH manifest URL is refused, or None for a local path, file:// or s3://."""
    if "::" in url:  # fsspec's URL chaining ("simplecache::http://..."): another protocol
        return "chains fsspec protocols: BATCH files are read from local paths, file:// or s3://"
    try:
        scheme = urlsplit(url).scheme
    except ValueError:
        return "is not a URL or a path"
    if not scheme or len(scheme) == 1 or scheme in BATCH_SCHEMES:  # "C:" is a Windows drive
        return None
    return (
        f"uses the {scheme_of(url)}: scheme, which the target does not open: BATCH files are "
        "read from local paths, file:// or s3:// (singer-sdk's BATCH storage)"
    )
