"""The tap's one Endor Labs API client: session, token, retries, error wording, paging.

Owned by the tap and shared by every stream, the preflight and the namespace
listing, so none of them borrows another's HTTP machinery.  It is safe to call
from several threads at once (windows read ahead, see ``window_reader``):

- one ``requests.Session`` whose connection pool holds one connection per
  concurrent request;
- one ``EndorAuthenticator``: a renewal happens once, other threads wait for it,
  and a 401 seen by several threads invalidates only the token they sent;
- one semaphore: at most ``max_concurrent_requests`` requests in flight;
- one ``RetryGate``: a 429 (or 503) holds back every thread until the wait it
  asks for has passed, so all workers slow down together instead of each
  hammering the limit on its own schedule.

What the caller is reading (``Subject``) only words the errors: a 504 or our own
read time-out becomes ``DeadlineExceededError`` when the caller asked for it
(``split_on_deadline``), per call, not through a flag on a shared object; a 504
that comes back long before the deadline is retried as it is (once).

How long and how loudly every request is retried is ``retry.RetryPolicy``'s:
one time budget (``retry_budget_seconds``) for every request kind.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from typing import Any

import msgspec
import requests
import urllib3
from requests.adapters import HTTPAdapter
from singer_sdk.exceptions import RetriableAPIError

from connector_common.lines import one_line
from tap_endorlabs.api_clock import ApiClock
from tap_endorlabs.auth import EndorAuthenticator
from tap_endorlabs.errors import (
    AccessDeniedError,
    DeadlineExceededError,
    FatalTapError,
    PagingLoopError,
    RepeatedEarlyDeadlineError,
    UnauthenticatedError,
)
from tap_endorlabs.host_names import ENDOR_HOSTS, no_such_name, unresolved
from tap_endorlabs.origins import (
    RETRIED_CLIENT_ERRORS,
    SameOriginSession,
    has_path,
    shown_origin,
    shown_url,
    wrong_address_line,
)
from tap_endorlabs.pagination import (
    Cursor,
    CursorGuard,
    ListQuery,
    count_of,
    list_objects,
    next_cursor,
)
from tap_endorlabs.retry import GaveUp, RetryPolicy, asked_wait, describe
from tap_endorlabs.settings import DEFAULT_API_URL

GRPC_DEADLINE_EXCEEDED = 4
#: A 504 "deadline exceeded" on a window query that comes back in less than this
#: share of the deadline the tap asked for (and within ``EARLY_DEADLINE_SECONDS``)
#: cannot mean the query ran out of it: it is a transient answer (a gateway, a
#: backend restarting), retried as it is.  Taken for a deadline, 30% of requests
#: answered 504 shrank the windows to a minute for good.
EARLY_DEADLINE_SHARE = 0.5
EARLY_DEADLINE_SECONDS = 5.0

_decode = msgspec.json.Decoder().decode

#: Failures worth the same request again (after a wait).
RETRIABLE = (
    RetriableAPIError,
    requests.exceptions.ConnectionError,
    requests.exceptions.Timeout,
    requests.exceptions.ChunkedEncodingError,
    requests.exceptions.ContentDecodingError,
    ConnectionResetError,
    msgspec.DecodeError,  # a body cut short on the way (see ``decode_body``)
)


class EarlyDeadlineError(RetriableAPIError):
    """A 504 "deadline exceeded" long before the deadline asked for: retried, not split."""


def decode_body(content: bytes) -> Any:
    r"""A response body as JSON, with what strict UTF-8 refuses still carried.

    msgspec is fast but reads a lone UTF-16 surrogate escape (``"\ud83d"``,
    served by backends that cut strings by UTF-16 units) as "truncated", which
    made one such record look like a broken page on every try and stopped
    every run.  JSON allows the escape, so a body msgspec refuses is read again
    by the standard library, which keeps it as the same code point; a body
    neither reads (really cut short) raises and is retried.
    """
    try:
        return _decode(content)
    except msgspec.DecodeError:
        try:
            return json.loads(content)
        except ValueError:
            pass
        raise


@dataclass(frozen=True)
class Subject:
    """What a request reads, for error messages that name the setting to fix."""

    stream: str
    namespace: str
    #: The setting a 400 on this query points the user to.
    filter_setting: str | None = None

    def describe(self) -> str:
        """``audit_logs in namespace 'acme'``: how log lines and errors name the request."""
        return f"{self.stream} in namespace {self.namespace!r}"


def retry_after_seconds(response: requests.Response | None) -> float | None:
    """The wait a 429/503 asks for (``Retry-After`` in seconds or as an HTTP date), or None."""
    return asked_wait(response)


class RetryGate:
    """A moment before which no thread sends: set by any thread's 429 or 503.

    The API limits requests per token, not per connection: when one worker is
    told to wait, the others would be told the same a moment later.  Holding
    them all until the asked-for time costs nothing and keeps the run from
    spending its retries on answers it already knows.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._open_at = 0.0
        self._lock = threading.Lock()

    def close_for(self, seconds: float) -> None:
        """Hold every sender back ``seconds`` from now (never shortens a longer hold)."""
        with self._lock:
            self._open_at = max(self._open_at, self._clock() + seconds)

    def wait(self, sleep: Callable[[float], None] = time.sleep) -> None:
        """Return once the gate is open."""
        while True:
            with self._lock:
                left = self._open_at - self._clock()
            if left <= 0:
                return
            sleep(left)


def is_read_timeout(exc: BaseException) -> bool:
    """True for our own read time-out, however ``requests`` wraps it."""
    if isinstance(exc, requests.exceptions.ReadTimeout):
        return True
    reason = exc.args[0] if exc.args else None
    return isinstance(exc, requests.exceptions.ConnectionError) and isinstance(
        reason, urllib3.exceptions.ReadTimeoutError
    )


class EndorApi:
    """GETs against the Endor Labs API with retries, one token renewal and clear errors."""

    def __init__(
        self,
        *,
        api_url: str,
        authenticator: EndorAuthenticator,
        request_timeout: int,
        user_agent: str,
        verify: bool = True,
        max_concurrent_requests: int = 1,
        logger: Any = None,
        retry: RetryPolicy | None = None,
        own_hosts: frozenset[str] = ENDOR_HOSTS,
    ) -> None:
        #: Endor Labs' own hosts, never taken for a typo (``host_names``).
        self._own_hosts = own_hosts
        self.url_base = api_url.rstrip("/")
        #: How long every request is retried, and how retries are logged.
        self.retry = retry if retry is not None else RetryPolicy(logger=logger)
        self.authenticator = authenticator
        #: The deadline the API is asked to honour (seconds).
        self.request_timeout = int(request_timeout)
        self.user_agent = user_agent
        self.logger = logger
        self.gate = RetryGate()
        #: Whether the API ever answered: until then a host name that does not
        #: exist is a typo in api_url, given up at once (``host_names``).
        self.answered = False
        #: The API's clock, from the Date of every answer (see ``api_clock``).
        self.clock = ApiClock(logger)
        #: At most this many requests in flight, whichever threads send them.
        self._slots = threading.BoundedSemaphore(max(1, max_concurrent_requests))
        # Redirects are followed only within api_url's origin (origins.py).
        self.session = SameOriginSession(api_url)
        # TLS verification stays on unless ssl_verify is explicitly false.
        self.session.verify = verify
        adapter = HTTPAdapter(pool_connections=1, pool_maxsize=max(2, max_concurrent_requests))
        self.session.mount("https://", adapter)
        self.session.mount("http://", adapter)

    @property
    def timeout(self) -> int:
        """Our read time-out: a little longer than the server-side deadline.

        The server's 504 then arrives before our own time-out; a server that
        ignores Request-Timeout meets ours instead, and a window query shrinks
        just the same.
        """
        return self.request_timeout + min(10, max(1, self.request_timeout // 2))

    @property
    def headers(self) -> dict[str, str]:
        """Headers of every request (the token is added per attempt)."""
        return {
            "Accept": "application/json",
            "Request-Timeout": str(self.request_timeout),
            "User-Agent": self.user_agent,
        }

    # --- one request ------------------------------------------------------------

    def get_json(
        self,
        path: str,
        params: dict[str, Any],
        *,
        subject: Subject,
        split_on_deadline: bool = False,
    ) -> dict[str, Any]:
        """GET ``path`` with retries and one token renewal on 401.

        Raises:
            FatalTapError: when the credentials are refused after a fresh token,
                the API keeps failing, or a 4xx says a setting is wrong.
            DeadlineExceededError: with ``split_on_deadline``, when the query timed out.
        """
        request = requests.Request("GET", self.url_base + path, params=params, headers=self.headers)
        prepared = self.session.prepare_request(request)
        early_deadlines = 0

        def attempt() -> dict[str, Any]:
            nonlocal early_deadlines
            try:
                return self._send_once(prepared, subject, split_on_deadline=split_on_deadline)
            except EarlyDeadlineError as early:
                # Once is a transient answer; twice, the window is halved (a server
                # whose own deadline is shorter than ours), but no ceiling is learnt.
                early_deadlines += 1
                if early_deadlines > 1:
                    raise RepeatedEarlyDeadlineError(str(early)) from None
                raise

        def give_up(error: BaseException, gave: GaveUp) -> None:
            raise FatalTapError(self._give_up_text(error, gave, subject)) from None

        for renewal in range(2):
            try:
                return self.retry.run(
                    attempt,
                    retriable=RETRIABLE,
                    what=subject.describe(),
                    on_give_up=give_up,
                    final=None
                    if self.answered
                    else partial(no_such_name, own_hosts=self._own_hosts),
                )
            except UnauthenticatedError as refused:
                if renewal == 1 or not self.authenticator.can_renew:
                    break
                self.authenticator.invalidate(refused.token)
        msg = (
            "Endor Labs refused the credentials (HTTP 401): check api_key/api_secret "
            "or token (ENDOR_API_CREDENTIALS_KEY/_SECRET, ENDOR_TOKEN)."
        )
        raise FatalTapError(msg)

    def _give_up_text(self, error: BaseException, gave: GaveUp, subject: Subject) -> str:
        """The one line once the retry budget is spent: what kept failing, for how long."""
        found = unresolved(error)
        if found is not None and found.no_such_name and not self.answered:
            return found.fatal_line(DEFAULT_API_URL, self._own_hosts)
        if isinstance(error, RetriableAPIError):
            return (
                f"The Endor Labs API kept failing for {subject.describe()} ({describe(error)}): "
                f"{gave.text()}; try again later, or raise retry_budget_seconds."
            )
        return (
            f"The Endor Labs API at {shown_origin(self.url_base)} could not be read for "
            f"{subject.describe()} ({describe(error)}): {gave.text()}; check api_url and the "
            "network, or raise retry_budget_seconds."
        )

    def _send_once(
        self, prepared: requests.PreparedRequest, subject: Subject, *, split_on_deadline: bool
    ) -> dict[str, Any]:
        """Send once (after the shared gate) and decode; a truncated body is retried.

        Raises:
            DeadlineExceededError: a 504 "deadline exceeded", or our read time-out,
                on a query that may split: the same query would only time out again.
        """
        # A stop asked during a long Retry-After ends the wait (``RetryPolicy.pause``).
        self.gate.wait(self.retry.pause)
        token = self.authenticator.current_token()
        attempt = prepared.copy()
        attempt.headers["Authorization"] = f"Bearer {token}"
        try:
            with self._slots:
                # A stop does not wait for an answer in flight (``RetryPolicy.interruptible``).
                response = self.retry.interruptible(
                    lambda: self.session.send(attempt, timeout=self.timeout, allow_redirects=True)
                )
            self.answered = True
        except requests.exceptions.RequestException as exc:
            if is_read_timeout(exc):
                msg = f"no answer within {self.timeout}s"
                if split_on_deadline:
                    raise DeadlineExceededError(msg) from None
                raise requests.exceptions.ReadTimeout(msg) from None
            raise
        self._check(response, subject, token, split_on_deadline=split_on_deadline)
        self.clock.observe(response.headers.get("Date"))
        body = decode_body(response.content)
        if not isinstance(body, dict):
            raise RetriableAPIError("response body is not a JSON object", response)
        return body

    def _check(
        self, response: requests.Response, subject: Subject, token: str, *, split_on_deadline: bool
    ) -> None:
        """Turn an error status into the exception the caller acts on."""
        status = response.status_code
        if status < 400:
            return
        if status == 401:
            raise UnauthenticatedError(token)
        message = _error_message(response)
        if status == 504 and split_on_deadline and _is_deadline(response):
            took = response.elapsed.total_seconds()
            if took < min(self.request_timeout * EARLY_DEADLINE_SHARE, EARLY_DEADLINE_SECONDS):
                msg = f"HTTP 504: {message} after {took:.1f}s of a {self.request_timeout}s deadline"
                raise EarlyDeadlineError(msg, response)
            raise DeadlineExceededError(message)
        if status in RETRIED_CLIENT_ERRORS or status >= 500:
            asked = retry_after_seconds(response)
            if asked is not None:
                self.gate.close_for(asked)
            raise RetriableAPIError(f"HTTP {status}: {message}", response)
        if status == 403:
            raise AccessDeniedError(_client_error_text(subject, status, message), message)
        if status == 404 and has_path(self.url_base):
            # ``https://api.endorlabs.com/v1`` reads ``/v1/v1/...``, which the API does
            # not have: the address is the likelier fault than the namespace.
            request = f"GET {shown_url(str(response.url or self.url_base))}"
            line = wrong_address_line(
                self.url_base, status, subject.describe(), request, DEFAULT_API_URL
            )
            raise FatalTapError(f"{line}, or namespace ({message})")
        raise FatalTapError(_client_error_text(subject, status, message))

    # --- counting and paging ----------------------------------------------------

    def count(self, query: ListQuery, *, subject: Subject, split_on_deadline: bool = False) -> int:
        """How many objects ``query`` holds, by the API's own count (``list_parameters.count``).

        Raises:
            FatalTapError: the API answered a list instead of a count.
            DeadlineExceededError: with ``split_on_deadline``, when the count timed out.
        """
        body = self.get_json(
            query.path, query.count_params(), subject=subject, split_on_deadline=split_on_deadline
        )
        count = count_of(body)
        if count is None:
            msg = (
                f"The Endor Labs API answered a list, not a count, to list_parameters.count "
                f"for {subject.stream} in namespace {subject.namespace!r}: the tap cannot "
                "check that it read every record, so it stops."
            )
            raise FatalTapError(msg)
        return count

    def iter_pages(
        self,
        query: ListQuery,
        *,
        subject: Subject,
        split_on_deadline: bool = False,
        prefetch: bool = False,
    ) -> Iterator[list[dict[str, Any]]]:
        """Every page of a list query, in order (``pagination.next_cursor`` decides).

        With ``prefetch`` the next page is requested while the caller works through
        this one, so the API's answer time and the tap's own work overlap (the tap
        took twice a plain paging loop's time without it).

        Raises:
            SortedPagingUnavailableError: a sorted page gave no way to the next one.
            FatalTapError: the API handed out the same page cursor twice (a loop).
        """

        def fetch(cursor: Cursor | None) -> dict[str, Any]:
            return self.get_json(
                query.path,
                query.params(cursor),
                subject=subject,
                split_on_deadline=split_on_deadline,
            )

        pool = ThreadPoolExecutor(1, thread_name_prefix="prefetch") if prefetch else None

        def start(cursor: Cursor | None) -> Callable[[], dict[str, Any]]:
            if pool is None:
                return lambda: fetch(cursor)
            return pool.submit(fetch, cursor).result

        guard = CursorGuard()
        try:
            answer = start(None)
            while True:
                body = answer()
                cursor = next_cursor(query, body)
                if cursor is not None:
                    try:
                        guard.admit(cursor)
                    except PagingLoopError as loop:
                        raise FatalTapError(_loop_message(loop, subject)) from None
                    answer = start(cursor)
                yield list_objects(body)
                if cursor is None:
                    return
        finally:
            if pool is not None:
                pool.shutdown(wait=True, cancel_futures=True)


def _loop_message(loop: PagingLoopError, subject: Subject) -> str:
    return (
        f"The Endor Labs API sent the same {loop.cursor} twice for {subject.stream} in "
        f"namespace {subject.namespace!r} (a paging loop): stopped before reading it "
        "again; the state written so far resumes the export once the API pages again."
    )


def _client_error_text(subject: Subject, status: int, message: str) -> str:
    """One actionable line for a 4xx the tap cannot recover from."""
    if status == 403:
        return (
            f"Access to namespace {subject.namespace!r} was denied (HTTP 403: {message}): "
            "give the API key at least the Read-only role there, or fix namespace."
        )
    if status == 404:
        return (
            f"Namespace {subject.namespace!r} was not found (HTTP 404: {message}): "
            "check the namespace setting (ENDOR_NAMESPACE)."
        )
    if status == 400:
        return (
            f"The Endor Labs API refused the {subject.stream} query (HTTP 400: {message}): "
            f"check {subject.filter_setting or 'the filter settings'}."
        )
    return f"The Endor Labs API answered HTTP {status} for {subject.stream}: {message}"


def _error_message(response: requests.Response) -> str:
    """The API's own error text (gRPC-gateway body), short and on one line."""
    try:
        body = response.json()
        text = str(body.get("message") or body)
    except ValueError:
        text = response.text or response.reason or ""
    return one_line(text)[:300]


def _is_deadline(response: requests.Response) -> bool:
    """True for a 504 that means "deadline exceeded" (gRPC code 4)."""
    try:
        body = response.json()
    except ValueError:
        return True
    return not isinstance(body, dict) or body.get("code") in (GRPC_DEADLINE_EXCEEDED, None)
