"""Which S3 failures are worth another try, and for how long: a time budget, not a count.

botocore's standard mode retries a request ``max_attempts`` times with a short
backoff (about 4 s in all for 5 attempts): an S3 endpoint that refused
connections for a minute ended the run.  Past botocore's attempts, the whole
upload is tried again with a growing pause (1 s, 2 s, 4 s ... at most 15 s)
until ``max_retry_seconds`` have passed since its first failure; then one line
says what kept failing.

* Transient, retried: connections refused, reset or timed out; HTTP 5xx
  (InternalError, SlowDown, ServiceUnavailable; not 501 NotImplemented); throttling;
  ``RequestTimeout``.
* ``RequestTimeTooSkewed`` (HTTP 403): S3 found the request's signing time more
  than 15 minutes from its own clock.  botocore neither retries nor corrects it.
  A passing skew (a clock stepped by NTP) is retried; one that lasts says that the
  machine's clock is wrong, by how much.
* ``ExpiredToken`` / ``TokenRefreshRequired``: the credentials expired before
  their local expiry time said so (a clock behind, a revoked session).  The
  client is built anew, which fetches fresh credentials (assume role, web
  identity, the credential chain), and the upload tried again once.
* Anything else (AccessDenied, NoSuchBucket, a TLS certificate refused, bad
  settings) stops at once: waiting cannot change it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import Enum
from typing import Any

from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    ReadTimeoutError,
    ResponseStreamingError,
    SSLError,
)
from botocore.exceptions import ConnectionError as BotoConnectionError

DEFAULT_MAX_RETRY_SECONDS = 180
FIRST_PAUSE_SECONDS = 1.0
LONGEST_PAUSE_SECONDS = 15.0

TRANSIENT_CODES = frozenset(
    {
        "InternalError",
        "ServiceUnavailable",
        "SlowDown",
        "RequestTimeout",
        "Throttling",
        "ThrottlingException",
        "RequestLimitExceeded",
        "TooManyRequestsException",
        "OperationAborted",
    }
)
SKEW_CODES = frozenset({"RequestTimeTooSkewed"})
EXPIRED_CODES = frozenset({"ExpiredToken", "ExpiredTokenException", "TokenRefreshRequired"})


class Failure(Enum):
    """What an S3 failure calls for."""

    TRANSIENT = "transient"
    SKEWED_CLOCK = "skewed clock"
    EXPIRED_CREDENTIALS = "expired credentials"
    FINAL = "final"


def classify(exc: BaseException) -> Failure:
    """Sort a boto error into what to do about it."""
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        code = str(error.get("Code", ""))
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0
        if code in SKEW_CODES:
            return Failure.SKEWED_CLOCK
        if code in EXPIRED_CODES:
            return Failure.EXPIRED_CREDENTIALS
        if code in TRANSIENT_CODES or (int(status) >= 500 and int(status) != 501):
            return Failure.TRANSIENT
        return Failure.FINAL
    if isinstance(exc, SSLError):  # a certificate is not refused less by waiting
        return Failure.FINAL
    if isinstance(
        exc, BotoConnectionError | ConnectionClosedError | ReadTimeoutError | ResponseStreamingError
    ):
        return Failure.TRANSIENT
    return Failure.FINAL


def pause_after(failures: int) -> float:
    """Seconds to wait after the ``failures``-th failed upload: 1, 2, 4 ... 15."""
    return min(FIRST_PAUSE_SECONDS * 2 ** (failures - 1), LONGEST_PAUSE_SECONDS)


def clock_skew_seconds(exc: BaseException) -> float | None:
    """How far this machine's clock is from S3's, from a RequestTimeTooSkewed answer."""
    if not isinstance(exc, ClientError):
        return None
    error: dict[str, Any] = dict(exc.response.get("Error", {}))
    try:
        request_time = _parse_s3_time(str(error["RequestTime"]))
        server_time = _parse_s3_time(str(error["ServerTime"]))
    except (KeyError, ValueError):
        return None
    return (request_time - server_time).total_seconds()


def _parse_s3_time(text: str) -> datetime:
    """``20250101T000000Z`` (as S3 writes it in the error) or RFC 3339."""
    text = text.strip()
    if len(text) == 16 and text[8] == "T":
        return datetime.strptime(text, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def skew_line(exc: BaseException, waited: float) -> str:
    """The one line for a clock skew that lasted the whole retry budget."""
    skew = clock_skew_seconds(exc)
    amount = f" by about {abs(skew):.0f} s ({'ahead' if skew > 0 else 'behind'})" if skew else ""
    return (
        f"S3 refused every request for {waited:.0f} s with RequestTimeTooSkewed: this "
        f"machine's clock is off{amount}; S3 allows 15 minutes: set the clock right "
        "(enable NTP, e.g. `timedatectl set-ntp true`) and run again"
    )
