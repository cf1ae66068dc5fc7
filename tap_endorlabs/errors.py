"""The tap's fatal errors: one line for the user, never a traceback or a secret."""

from __future__ import annotations

# The command line's own lines (connector_common/cli.py prints them).
TARGET_STOPPED = (
    "the target stopped reading the tap's output (broken pipe): see the target's own "
    "error; the next run resumes from the last state the target wrote"
)
STDOUT_CLOSED = (
    "standard output is closed: pipe the tap into a target, for example "
    "tap-endorlabs --config tap.json | target-s3-endor --config target.json"
)


class FatalTapError(Exception):
    """A problem the user must fix (credentials, namespace, filter, config).

    The CLI prints ``str(error)`` as one line on stderr and exits 1, so the
    message must name the setting at fault and what to do about it.
    """


class AccessDeniedError(FatalTapError):
    """The API answered 403: callers that know what was being read can say more."""

    def __init__(self, text: str, api_message: str) -> None:
        super().__init__(text)
        #: The API's own error text, for a caller that words the advice itself.
        self.api_message = api_message


class IncompleteWindowError(FatalTapError):
    """The API counts more records in a window than every way of reading it returned.

    Raised before any record of the window is emitted, so no state passes it.
    """


class StopRequested(BaseException):
    """A termination signal arrived: stop at this record boundary.

    A BaseException, so that the SDK's per-stream ``except Exception`` does not
    log it as an error; the CLI turns it into a final STATE and exit 128+signal.
    """

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


class WindowTooBigError(Exception):
    """A time window held more than the tap reads at once: halve it and read it again."""


class DeadlineExceededError(WindowTooBigError):
    """The API gave up on a query (HTTP 504, gRPC code 4): the time window was too big."""


class RepeatedEarlyDeadlineError(DeadlineExceededError):
    """A 504 "deadline exceeded" twice in a row, each long before the deadline asked for.

    Once is a transient answer (retried); twice may be a server whose own
    deadline is shorter than ours, so the window is halved, but no ceiling is
    learnt from it: nothing showed that the size was slow.
    """


class BufferedWindowTooBigError(WindowTooBigError):
    """A window the tap orders itself (read unsorted) holds more than its buffer allows."""


class SeamWindowTooBigError(BufferedWindowTooBigError):
    """A window read from both audit-log stores holds more than the merge buffer allows."""


class UnauthenticatedError(Exception):
    """The API answered 401: the token expired early or the credentials are wrong."""

    def __init__(self, token: str | None = None) -> None:
        super().__init__("HTTP 401")
        #: The token the refused request carried (never printed): see ``invalidate``.
        self.token = token


class SortedPagingUnavailableError(Exception):
    """A sorted list page could not say where the next page starts (no token).

    The window is read again without the sort, by ``page_id``, and ordered by the tap.
    """


class PagingLoopError(Exception):
    """The API handed out a page cursor it had handed out before: paging would loop."""

    def __init__(self, cursor: object) -> None:
        super().__init__(str(cursor))
        #: The repeated cursor (its ``str`` names it: ``page token 200``).
        self.cursor = cursor
