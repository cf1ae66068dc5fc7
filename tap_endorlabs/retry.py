"""One retry policy for every request the tap sends: a budget in time, not a count of tries.

A count of tries measures nothing a user can reason about: 8 quick tries ride
out two seconds of trouble, and 4 token exchanges gave up after about two
seconds while the data requests went on for longer.  Every request kind (the
token exchange, the preflight probes, the namespace listing, every page of
every window) therefore retries transient failures for the same
``retry_budget_seconds``, with the same exponential waits, and says so in the
same words:

- waits grow from ``BASE_WAIT_SECONDS`` by doubling, each at most a tenth of the
  budget (and at most ``MAX_WAIT_SECONDS``), so any budget buys about ten tries
  or more; a ``Retry-After`` the answer carries wins;
- waits are jittered (between half and all of the planned wait), so several
  workers, or several taps on one key, do not retry in lock step;
- the first ``QUIET_RETRIES`` retries of a request are logged at debug level
  (a blip is not news); every later one, and every retry after a time-out or
  an attempt that took ``SLOW_ATTEMPT_SECONDS`` or more (silence during a hang
  misleads), as a warning that names the request, the error, the attempt and
  the time left of the budget;
- a host name that did not resolve is a warning from its first retry on, naming
  the host and ``api_url`` (``host_names``): a typo must not hide behind quiet
  retries; a caller may give it up at once (``final``);
- when the budget is spent the caller raises one line naming what kept failing.

``backoff`` does the loop (a core dependency); this module says how long and
how loudly, and does the waits itself: ``backoff`` sleeps with one
``time.sleep``, which nothing can cut short, so a SIGTERM during a 30 s wait
(or a whole budget of them) went unanswered for minutes.  The policy's waits
(and ``pause``, which the API's shared ``RetryGate`` and the window reader
wait with) run in slices of at most ``STOP_CHECK_SECONDS`` that look at
``stopping``: once the tap was asked to stop, no wait goes on and no attempt
starts, on any thread; ``StopRequested`` goes up instead, and the tap ends as
any stop ends (the state reached, one line, exit 128+signal).
"""

from __future__ import annotations

import logging
import random
import re
import threading
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

import backoff
import requests
from backoff.types import Details

from connector_common.lines import one_line
from tap_endorlabs.errors import StopRequested
from tap_endorlabs.headers import retry_after_seconds as parse_retry_after
from tap_endorlabs.host_names import unresolved

#: The default of ``retry_budget_seconds``.
DEFAULT_BUDGET_SECONDS = 300
BASE_WAIT_SECONDS = 0.1
MAX_WAIT_SECONDS = 30.0
#: No wait is longer than this share of the budget: a budget buys ~10 tries or more.
WAIT_SHARE_OF_BUDGET = 0.1
#: Retries of one request logged at debug level before they are logged as warnings.
QUIET_RETRIES = 2
#: The longest ``Retry-After`` honoured as asked.
MAX_RETRY_AFTER_SECONDS = 120.0
#: An attempt that took this long is always reported: silence during a hang misleads.
SLOW_ATTEMPT_SECONDS = 5.0
#: The longest a wait runs before it looks again whether the tap was asked to stop.
STOP_CHECK_SECONDS = 0.2

#: Failures that mean "no answer in time": always reported.
TIMEOUTS = (requests.exceptions.Timeout, TimeoutError)
#: Failures that no retry can mend (a certificate that does not verify): given up at once.
#: ``SSLError`` is a ``ConnectionError``, which is retried; a refused handshake is not a blip.
PERMANENT = (requests.exceptions.SSLError,)

T = TypeVar("T")
#: What a wrapped connection error says underneath (``[Errno 111] Connection refused``).
_SYSTEM_ERROR = re.compile(r"\[Errno -?\d+\] [^'\"()]+|Connection aborted")

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class GaveUp:
    """What a caller needs to word its one line once the budget is spent."""

    attempts: int
    elapsed: float
    budget: float

    def text(self) -> str:
        """``12 attempts in 301s (retry_budget_seconds: 300)``."""
        return (
            f"{self.attempts} attempts in {self.elapsed:.0f}s "
            f"(retry_budget_seconds: {self.budget:g})"
        )


def describe(error: BaseException) -> str:
    """A failure in a few words, never the request (its headers carry the token).

    ``requests`` wraps a refused or reset connection in a long text naming the
    pool and the URL; its system error (``[Errno 111] Connection refused``) is
    what a reader needs.
    """
    host = unresolved(error)
    if host is not None:  # the host and the setting, not urllib3's three wrappers
        return host.describe()
    text = one_line(str(error))
    name = type(error).__name__
    if "Authorization" in text:
        return name
    if len(text) > 200 or "Max retries exceeded" in text:
        found = _SYSTEM_ERROR.search(text)
        return f"{name}: {found.group(0)}" if found else name
    if not text:
        return name
    return text if text.startswith("HTTP ") else f"{name}: {text}"


def asked_wait(response: Any) -> float | None:
    """The wait an answer asks for (``Retry-After`` of a 429/503), or None.

    In seconds or as an HTTP date, at most ``MAX_RETRY_AFTER_SECONDS``.
    """
    headers = getattr(response, "headers", None)
    if headers is None:
        return None
    return parse_retry_after(headers.get("Retry-After"), datetime.now(UTC), MAX_RETRY_AFTER_SECONDS)


def retry_after_of(error: BaseException | None) -> float | None:
    """The wait the answer a failure carries asks for (``RetriableAPIError.response``)."""
    return asked_wait(getattr(error, "response", None))


def _jitter(wait: float) -> float:
    return wait * random.uniform(0.5, 1.0)


def _not_stopping() -> int | None:
    return None


@dataclass(frozen=True)
class RetryPolicy:
    """How long and how loudly a request kind is retried (see the module docstring)."""

    budget_seconds: float = DEFAULT_BUDGET_SECONDS
    logger: Any = None
    #: The signal that asked the tap to stop, or None.  Only read, never waited on:
    #: the signal handler sets a number and takes no lock (``TapEndorLabs._handle_termination``).
    stopping: Callable[[], int | None] = _not_stopping

    def check_stop(self) -> None:
        """Raise ``StopRequested`` if the tap was asked to stop.

        Raises:
            StopRequested: with the signal that asked.
        """
        signum = self.stopping()
        if signum is not None:
            raise StopRequested(signum)

    def interruptible(self, call: Callable[[], T]) -> T:
        """``call()`` (one HTTP attempt), which a stop does not wait for.

        A request in flight cannot be cut short from another thread, and the one
        waiting on it (the main thread too) does not run the signal handler's
        wish until it returns: up to ``request_timeout`` plus a few seconds, past
        Kubernetes' 30 s.  So the attempt runs on a daemon thread of its own (the
        process may end without it) and is waited for in slices that look at
        ``stopping``.

        Raises:
            StopRequested: the tap was asked to stop before the attempt ended.
        """
        done = threading.Event()
        outcome: list[tuple[bool, Any]] = []

        def run() -> None:
            try:
                outcome.append((True, call()))
            except BaseException as exc:  # raised again by the caller, on its own thread
                outcome.append((False, exc))
            finally:
                done.set()

        threading.Thread(target=run, name="api-request", daemon=True).start()
        while not done.wait(STOP_CHECK_SECONDS):
            self.check_stop()
        succeeded, value = outcome[0]
        if succeeded:
            return value
        raise value

    def pause(self, seconds: float) -> None:
        """Wait ``seconds``, looking every ``STOP_CHECK_SECONDS`` whether to stop.

        Raises:
            StopRequested: as soon as the tap was asked to stop (before or during the wait).
        """
        end = time.monotonic() + seconds
        while True:
            self.check_stop()
            left = end - time.monotonic()
            if left <= 0:
                return
            time.sleep(min(left, STOP_CHECK_SECONDS))

    @property
    def max_wait(self) -> float:
        """The longest single wait between two tries."""
        share = self.budget_seconds * WAIT_SHARE_OF_BUDGET
        return max(BASE_WAIT_SECONDS, min(MAX_WAIT_SECONDS, share))

    def waits(self) -> Callable[[], Generator[float, Any, None]]:
        """Exponential waits, jittered; the failure's ``Retry-After`` wins when it has one."""
        cap = self.max_wait

        def generator() -> Generator[float, Any, None]:
            attempt = 0
            exception = yield  # type: ignore[misc]
            while True:
                wanted = retry_after_of(exception)
                delay = _jitter(min(BASE_WAIT_SECONDS * 2**attempt, cap))
                attempt += 1
                # A Retry-After is waited as asked: jittered shorter, it would be early.
                exception = yield wanted if wanted is not None else delay

        return generator

    def run(
        self,
        call: Callable[[], T],
        *,
        retriable: tuple[type[Exception], ...],
        what: str,
        on_give_up: Callable[[BaseException, GaveUp], None] | None = None,
        final: Callable[[BaseException], bool] | None = None,
    ) -> T:
        """``call()``, retried on ``retriable`` failures until the budget is spent.

        ``what`` names the request in log lines (``audit_logs in namespace 'acme'``,
        ``the token exchange``).  Once the budget is spent ``on_give_up`` is called
        with the last failure (it raises the caller's one line); without it, or if
        it returns, the last failure is raised as it is.  A failure ``final``
        accepts is given up at once, as a refused certificate is.

        Raises:
            StopRequested: the tap was asked to stop (no attempt starts, no wait goes on).
        """
        started = time.monotonic()
        attempt_started = [started]
        planned_wait = [0.0]

        def timed() -> T:
            self.check_stop()
            attempt_started[0] = time.monotonic()
            try:
                return call()
            except retriable:
                self.check_stop()  # a failure after the stop is not retried, nor reported
                raise

        def waits() -> Generator[float, Any, None]:
            # backoff's own sleep cannot be cut short: it is told to wait 0, and
            # the planned wait is waited in ``on_backoff``, in slices (``pause``).
            plan = self.waits()()
            next(plan)
            exception = yield  # type: ignore[misc]
            while True:
                planned_wait[0] = plan.send(exception)
                exception = yield 0.0

        def spent(error: Exception) -> bool:
            # Measured after the failed attempt: backoff's own ``max_time`` looks at
            # the time before it, so an attempt that hangs would run past the budget.
            if isinstance(error, PERMANENT) or (final is not None and final(error)):
                return True
            return time.monotonic() - started >= self.budget_seconds

        def on_backoff(details: Details) -> None:
            now = time.monotonic()
            # Never past the budget: the last wait is clipped to what is left of it.
            wait = max(0.0, min(planned_wait[0], self.budget_seconds - (now - started)))
            self._report(details, what, wait, now - started, now - attempt_started[0])
            self.pause(wait)

        def give_up(details: Details) -> None:
            if on_give_up is None:
                return
            error = details.get("exception")
            assert isinstance(error, BaseException)
            on_give_up(
                error,
                GaveUp(
                    attempts=int(details.get("tries", 0)),
                    elapsed=time.monotonic() - started,
                    budget=self.budget_seconds,
                ),
            )

        retrying = backoff.on_exception(
            waits,
            retriable,
            max_tries=None,
            max_time=self.budget_seconds,
            giveup=spent,
            jitter=None,
            on_backoff=on_backoff,
            on_giveup=give_up,
            raise_on_giveup=True,
            logger=None,
        )(timed)
        return retrying()

    def _report(
        self, details: Details, what: str, wait: float, elapsed: float, took: float
    ) -> None:
        """One line per retry: quiet for the first blips, a warning once it persists."""
        logger = self.logger or _log
        tries = int(details.get("tries", 0))
        left = max(self.budget_seconds - elapsed - wait, 0.0)
        error = details.get("exception")
        hung = took >= SLOW_ATTEMPT_SECONDS or isinstance(error, TIMEOUTS)
        # A name that does not resolve may be a typo in api_url: said at once.
        unknown_host = isinstance(error, BaseException) and unresolved(error) is not None
        logger.log(
            logging.WARNING if hung or unknown_host or tries > QUIET_RETRIES else logging.DEBUG,
            "Retrying %s in %.1fs after attempt %d (%s): %.0fs of the %gs retry budget left",
            what,
            wait,
            tries,
            describe(error) if isinstance(error, BaseException) else "error",
            left,
            self.budget_seconds,
        )
