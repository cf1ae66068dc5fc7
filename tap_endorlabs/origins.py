"""Which addresses the tap talks to: api_url's origin, and nothing else.

The API key and secret (and the bearer token traded for them) are sent to the
``api_url`` setting only.  Three ways they could leave it, each closed here:

* a redirect: ``requests`` follows redirects by default.  On the token exchange
  it re-sends the POST body (key and secret) to wherever ``Location`` points;
  on a list call a ``Session`` strips ``Authorization`` only when the host
  changes, so the query (namespace, filter) still goes along, and a same-host
  ``https`` to ``http`` hop is the server's choice.  The exchange follows no
  redirect at all (``EndorAuthenticator``); list calls follow one only within
  the same origin (scheme, host and port), through ``SameOriginSession``;
* plain http: the key and secret would cross the network unencrypted.  An
  ``http://`` api_url is refused unless its host is this machine (loopback:
  the local emulator, or a TLS-terminating proxy beside the tap);
* userinfo (``https://user:password@host``): ``requests`` would turn it into a
  Basic ``Authorization`` header, and error lines would print it.  The API
  authenticates with the key or token alone, so such an api_url is refused,
  and no line ever shows more of a URL than ``shown_origin`` keeps.

Refusing plain http rather than warning: a warning is read after the run, when
the secret has already crossed the network; a refusal costs one ``s`` in the
setting.  Paging never follows a URL from a response (``pagination`` sends
``page_token``/``page_id`` values back to the same path).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urljoin, urlsplit

import requests
from typing_extensions import override

from connector_common.urls import has_userinfo, plain_http_elsewhere
from tap_endorlabs.errors import FatalTapError

DEFAULT_PORTS = {"http": 80, "https": 443}
#: Redirects a list call may follow within api_url's origin (requests' default: 30).
MAX_REDIRECTS = 5

Origin = tuple[str, str, int | None]


def origin_of(url: str) -> Origin:
    """``(scheme, host, port)`` with the scheme's default port filled in."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port
    except ValueError:
        port = None
    return scheme, (parts.hostname or "").lower(), port or DEFAULT_PORTS.get(scheme)


def shown_origin(url: str) -> str:
    """``https://host:port`` for an error line: never the userinfo, path or query."""
    scheme, host, port = origin_of(url)
    if not scheme or not host:
        return "(not a URL)"
    host_text = f"[{host}]" if ":" in host else host
    default = DEFAULT_PORTS.get(scheme)
    return f"{scheme}://{host_text}" + ("" if port in (None, default) else f":{port}")


def check_api_url_reach(url: str) -> None:
    """Refuse an api_url that would expose the credentials (see the module's docstring).

    Raises:
        FatalTapError: naming api_url (its origin only) and what to write instead.
    """
    if has_userinfo(url):
        msg = (
            f"api_url for {shown_origin(url)} holds a user name or password (user:pw@host): "
            "remove it; the tap authenticates with api_key/api_secret or token only"
        )
        raise FatalTapError(msg)
    if plain_http_elsewhere(url):
        msg = (
            f"api_url {shown_origin(url)} is plain http to another machine: the API key and "
            "secret (or token) would cross the network unencrypted; use https:// (plain http "
            "is accepted only for localhost, 127.0.0.1 or ::1, such as a local emulator)"
        )
        raise FatalTapError(msg)


class OffOriginRedirectError(FatalTapError):
    """The API redirected a request away from api_url's origin; it was not followed."""


def redirect_refusal(api_url: str, status: int, location: str | None, what: str) -> str:
    """The one line for a redirect the tap does not follow."""
    where = shown_origin(urljoin(api_url + "/", location)) if location else "nowhere"
    return (
        f"The Endor Labs API at {shown_origin(api_url)} answered {what} with HTTP {status}, "
        f"a redirect to {where}: the tap sends credentials only to api_url's own origin and "
        "did not follow it; set api_url to the address the API answers at"
    )


class SameOriginSession(requests.Session):
    """A ``requests.Session`` that follows a redirect only within one origin.

    ``get_redirect_target`` is where requests reads ``Location`` before it
    builds the next request; refusing there means nothing is sent to the
    other address, not even the query.
    """

    def __init__(self, api_url: str) -> None:
        super().__init__()
        self.api_url = api_url.rstrip("/")
        self.origin = origin_of(api_url)
        self.max_redirects = MAX_REDIRECTS

    @override
    def get_redirect_target(self, resp: requests.Response) -> Any:
        location = super().get_redirect_target(resp)
        if location is None:
            return None
        if origin_of(urljoin(resp.url, location)) != self.origin:
            text = redirect_refusal(self.api_url, resp.status_code, location, "a request")
            raise OffOriginRedirectError(text)
        return location


#: Client errors a retry may mend: a request time-out, a rate limit.  Every other 4xx
#: of the token exchange or the preflight is an answer to a wrong address.
RETRIED_CLIENT_ERRORS = frozenset({408, 429})


def has_path(api_url: str) -> bool:
    """True when api_url holds a path (``.../v1``): Endor Labs' API has none."""
    return bool(urlsplit(api_url).path.strip("/"))


def wrong_address_line(api_url: str, status: int, what: str, request: str, default_url: str) -> str:
    """The one line when api_url answered a request the API always has with a 4xx.

    ``https://api.endorlabs.com/v1`` (a path the API does not have) answered the
    token exchange HTTP 404, which was retried for the whole retry budget (300 s):
    no retry mends an address.  ``request`` is ``POST <url>`` (no query: it may hold
    a filter, never a secret, but is long).
    """
    return (
        f"api_url '{shown_url(api_url)}' answered HTTP {status} for {what} ({request}): "
        f"check api_url (Endor Labs' API is {default_url}, no path)"
    )


def shown_url(url: str) -> str:
    """``https://host:port/path`` for an error line: the origin and a short path, no query."""
    return shown_origin(url) + urlsplit(url).path.rstrip("/")[:100]
