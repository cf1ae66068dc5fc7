"""Token exchange for the Endor Labs API: one token for all streams, refreshed early.

The API trades an API key and secret for a bearer token that lives a few hours
(``POST /v1/auth/api-key``).  One ``EndorAuthenticator`` lives on the tap, so
every stream shares its token; it renews the token before it runs out and once
more when the API answers 401 (tokens can be revoked early).  A fixed ``token``
setting is used as is: it cannot be renewed, so a 401 with it is fatal.
The exchange follows no redirect: the key and secret go to api_url only
(``origins``).
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from functools import partial
from typing import Any

import requests
from singer_sdk.exceptions import RetriableAPIError
from typing_extensions import override

from tap_endorlabs.errors import FatalTapError
from tap_endorlabs.headers import server_now
from tap_endorlabs.host_names import ENDOR_HOSTS, no_such_name, unresolved
from tap_endorlabs.origins import (
    RETRIED_CLIENT_ERRORS,
    redirect_refusal,
    shown_origin,
    shown_url,
    wrong_address_line,
)
from tap_endorlabs.retry import GaveUp, RetryPolicy, describe
from tap_endorlabs.settings import DEFAULT_API_URL
from tap_endorlabs.timestamps import parse_timestamp

# Renew when less than this fraction of the token's life (or this many seconds) is left.
REFRESH_FRACTION = 0.1
REFRESH_MIN_SECONDS = 60.0
DEFAULT_TOKEN_LIFETIME = 4 * 3600.0


class EndorAuthenticator(requests.auth.AuthBase):
    """Adds ``Authorization: Bearer <token>`` and keeps the token fresh."""

    def __init__(
        self,
        *,
        api_url: str,
        api_key: str | None = None,
        api_secret: str | None = None,
        token: str | None = None,
        timeout: float = 60.0,
        verify: bool = True,
        retry: RetryPolicy | None = None,
        own_hosts: frozenset[str] = ENDOR_HOSTS,
    ) -> None:
        #: Endor Labs' own hosts, never taken for a typo (``host_names``).
        self._own_hosts = own_hosts
        self._api_url = api_url.rstrip("/")
        self._retry = retry if retry is not None else RetryPolicy()
        self._verify = verify
        self._api_key = api_key
        self._api_secret = api_secret
        self._token = token
        self._fixed = token is not None
        self._timeout = timeout
        self._renew_at = float("inf") if self._fixed else 0.0
        self._lock = threading.Lock()
        #: Whether the API ever answered an exchange: until then a host name that
        #: does not exist is a typo in api_url, given up at once (``host_names``).
        self._answered = False

    @property
    def can_renew(self) -> bool:
        """True when a 401 may be cured by a new token exchange."""
        return not self._fixed

    @override
    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self.current_token()}"
        return request

    def current_token(self) -> str:
        """The token to send now, exchanging the key for a new one when it is due."""
        with self._lock:
            if self._token is None or time.monotonic() >= self._renew_at:
                self._exchange()
            assert self._token is not None
            return self._token

    def invalidate(self, rejected: str | None = None) -> None:
        """Forget the token after a 401 so the next request exchanges the key again.

        With ``rejected`` (the token the refused request carried), only that
        token is forgotten: when several threads see the same 401, the first
        renews and the others take the new token instead of renewing again.
        """
        with self._lock:
            if self._fixed:
                return
            if rejected is None or rejected == self._token:
                self._token = None

    def _exchange(self) -> None:
        """Trade the API key and secret for a token, retrying transient failures.

        Retried for the same time budget as every other request (``retry``):
        a token exchange that gave up after 4 tries in about 2 s ended runs
        that every data request would have ridden out.

        Raises:
            FatalTapError: on rejected credentials, or a server that keeps failing
                for the whole retry budget.
        """
        url = f"{self._api_url}/v1/auth/api-key"
        body = {"key": self._api_key, "secret": self._api_secret}

        def attempt() -> tuple[dict[str, Any], requests.Response]:
            try:
                # No redirect: requests would re-send the key and secret to its Location.
                # A stop does not wait for an answer in flight (``RetryPolicy.interruptible``).
                response = self._retry.interruptible(
                    lambda: requests.post(
                        url,
                        json=body,
                        timeout=self._timeout,
                        verify=self._verify,
                        allow_redirects=False,
                    )
                )
            except requests.exceptions.Timeout:
                msg = f"no answer within {self._timeout:g}s"
                raise requests.exceptions.Timeout(msg) from None
            self._answered = True
            if response.is_redirect or 300 <= response.status_code < 400:
                location = response.headers.get("Location")
                what = "the token exchange"
                raise FatalTapError(
                    redirect_refusal(self._api_url, response.status_code, location, what)
                )
            if response.status_code in (400, 401, 403):
                msg = (
                    f"Endor Labs rejected the API key (HTTP {response.status_code}): "
                    "check api_key and api_secret (or ENDOR_API_CREDENTIALS_KEY/_SECRET)."
                )
                raise FatalTapError(msg)
            if 400 <= response.status_code < 500 and (
                response.status_code not in RETRIED_CLIENT_ERRORS
            ):
                # The exchange always exists at the API's root: a 404 (405, ...) is a
                # wrong address, which no retry mends.
                what = "the token exchange"
                request = f"POST {shown_url(url)}"
                raise FatalTapError(
                    wrong_address_line(
                        self._api_url, response.status_code, what, request, DEFAULT_API_URL
                    )
                )
            if response.status_code != 200:
                msg = f"HTTP {response.status_code}"
                raise RetriableAPIError(msg, response)
            try:
                payload = response.json()
                str(payload["token"])
            except (ValueError, KeyError, TypeError):
                msg = "an unreadable token response"
                raise RetriableAPIError(msg, response) from None
            return payload, response

        def give_up(error: BaseException, gave: GaveUp) -> None:
            found = unresolved(error)
            if found is not None and found.no_such_name and not self._answered:
                raise FatalTapError(found.fatal_line(DEFAULT_API_URL, self._own_hosts)) from None
            msg = (
                f"Could not obtain an Endor Labs token from {shown_origin(self._api_url)} "
                f"({describe(error)}): "
                f"{gave.text()}; check api_url and the network, or raise retry_budget_seconds."
            )
            raise FatalTapError(msg) from None

        payload, response = self._retry.run(
            attempt,
            retriable=(RetriableAPIError, requests.RequestException),
            what="the token exchange",
            on_give_up=give_up,
            final=None if self._answered else partial(no_such_name, own_hosts=self._own_hosts),
        )
        self._token = str(payload["token"])
        self._renew_at = time.monotonic() + _renew_after(payload, response)


def _renew_after(payload: dict[str, Any], response: requests.Response) -> float:
    """Seconds from now until the token should be renewed.

    The expiry is spelled ``expirationTime`` by Endor's clients and
    ``expiration_time`` in the OpenAPI file.  It is measured against the
    server's clock (its ``Date`` header) when it is usable, so a skewed local
    clock cannot make us keep an expired token; a missing, repeated or malformed
    ``Date`` falls back to our clock (``headers.server_now``), never fails.
    """
    raw = payload.get("expirationTime") or payload.get("expiration_time")
    lifetime = DEFAULT_TOKEN_LIFETIME
    if raw:
        try:
            expires = parse_timestamp(str(raw))
            now = server_now(response.headers.get("Date"), datetime.now(UTC))
            lifetime = (expires - now).total_seconds()
        except (ValueError, OverflowError):
            lifetime = DEFAULT_TOKEN_LIFETIME
    margin = max(REFRESH_MIN_SECONDS, lifetime * REFRESH_FRACTION)
    margin = min(margin, lifetime / 2)
    return max(lifetime - margin, 0.0)
