"""The one REST stream base class for every Endor Labs resource.

Each stream reads ``[start, ...)`` on its time field in adaptive windows
(``windows.WindowPlanner``), each window a sorted list query paged by
``page_token`` (``pagination``), or, once the API shows it does not page sorted
lists, by ``page_id`` without sort and ordered here.  Requests retry with backoff
on 429 (honouring ``Retry-After``), 5xx, connection resets and truncated bodies;
a 401 triggers one token renewal; a 504 "deadline exceeded", or our own read
time-out on a window query, halves the window instead of retrying the same
expensive query.
"""

from __future__ import annotations

import contextlib
import logging
import sys
import time
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from functools import cached_property
from typing import Any, ClassVar

import backoff
import msgspec
import requests
import urllib3
from singer_sdk import metrics
from singer_sdk.exceptions import (
    AbortedSyncFailedException,
    AbortedSyncPausedException,
    MaxRecordsLimitException,
    RetriableAPIError,
)
from singer_sdk.helpers._catalog import pop_deselected_record_properties
from singer_sdk.helpers._typing import conform_record_data_types
from singer_sdk.helpers._util import utc_now
from singer_sdk.helpers.conform import TypeConformanceLevel
from singer_sdk.mapper import SameRecordTransform
from singer_sdk.singerlib import RecordMessage
from singer_sdk.streams import RESTStream
from typing_extensions import override

from tap_endorlabs.auth import EndorAuthenticator
from tap_endorlabs.errors import (
    AccessDeniedError,
    BufferedWindowTooBigError,
    DeadlineExceededError,
    FatalTapError,
    PagingLoopError,
    SeamWindowTooBigError,
    SortedPagingUnavailableError,
    StopRequested,
    UnauthenticatedError,
    WindowTooBigError,
    one_line,
)
from tap_endorlabs.filters import all_of, time_range
from tap_endorlabs.headers import retry_after_seconds as parse_retry_after
from tap_endorlabs.metrics import partition_counter, partition_timer
from tap_endorlabs.pagination import Cursor, CursorGuard, ListQuery, list_objects, next_cursor
from tap_endorlabs.progress import ReadProgress
from tap_endorlabs.timestamps import (
    format_timestamp,
    normalize_or,
    normalize_timestamp,
    parse_timestamp,
)
from tap_endorlabs.windows import WindowPlanner

MAX_TRIES = 8
CHEAP_WINDOW_PAGES = 4
# A window read from both audit-log stores, or read unsorted (an API that does
# not page sorted lists), is held in memory and ordered before it is emitted;
# past this many pages' worth of records it is halved instead, so memory follows
# page_size, not the size of the backfill.
SEAM_BUFFER_PAGES = 20
# The uuids emitted at the bookmark's instant that the state keeps, per stream
# and namespace, so the next run does not emit them again (see save_bookmark).
# Past this many (a burst within one microsecond) the rest may be emitted twice.
MAX_EMITTED_AT_BOOKMARK = 200
#: State key (beside ``replication_key_value``) of those uuids.
EMITTED_KEY = "emitted_at_bookmark"
MAX_RETRY_SECONDS = 300.0
BACKOFF_BASE_SECONDS = 0.1
BACKOFF_CAP_SECONDS = 30.0
MAX_RETRY_AFTER_SECONDS = 120.0
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
GRPC_DEADLINE_EXCEEDED = 4

_decode = msgspec.json.Decoder().decode


def dotted_get(record: dict[str, Any], path: str) -> Any:
    """``record["a"]["b"]`` for ``path == "a.b"``; None when any step is missing."""
    node: Any = record
    for step in path.split("."):
        if not isinstance(node, dict):
            return None
        node = node.get(step)
    return node


def retry_after_seconds(response: requests.Response | None) -> float | None:
    """The wait a 429/503 asks for (``Retry-After`` in seconds or as an HTTP date), or None."""
    if response is None:
        return None
    return parse_retry_after(
        response.headers.get("Retry-After"), datetime.now(UTC), MAX_RETRY_AFTER_SECONDS
    )


def _is_read_timeout(exc: BaseException) -> bool:
    """True for our own read time-out, however ``requests`` wraps it."""
    if isinstance(exc, requests.exceptions.ReadTimeout):
        return True
    reason = exc.args[0] if exc.args else None
    return isinstance(exc, requests.exceptions.ConnectionError) and isinstance(
        reason, urllib3.exceptions.ReadTimeoutError
    )


class EndorStream(RESTStream[int | None]):
    """Shared behaviour of the Endor Labs list endpoints."""

    #: API resource in the URL, e.g. ``audit-logs``.
    resource: ClassVar[str]
    #: Field the windows, the sort and the bookmark use (dotted path).
    time_field: ClassVar[str] = "meta.create_time"
    #: Setting holding a user filter ANDed into every query of this stream.
    extra_filter_setting: ClassVar[str | None] = None
    #: Filter every query of this stream carries.
    base_filter: ClassVar[str | None] = None

    primary_keys: ClassVar[list[str]] = ["uuid"]
    is_sorted = True
    # Sorted streams resume from their last STATE: a tight interval bounds what an
    # interrupted run exports twice (the SDK's default is every 10,000 records).
    STATE_MSG_FREQUENCY = 1000
    #: Whether window pages are fetched one ahead (``iter_pages``): only for streams
    #: that send no other request while they go through a page.
    prefetch_pages: ClassVar[bool] = True
    # Records are the API's JSON as is: no per-record conformance (it would cost
    # time and could only drop or coerce fields the contract says to keep).
    TYPE_CONFORMANCE_LEVEL = TypeConformanceLevel.NONE

    _split_on_deadline = False
    #: The last record's bookmark value, partition and the identities (uuids)
    #: completed at that value, not yet in the state.
    _unsaved_bookmark: tuple[str, Mapping[str, Any] | None, list[str]] | None = None
    #: Set once the API answers a sorted window without a page token: from then
    #: on windows are read by ``page_id`` without sort and ordered here.
    _order_on_client = False
    #: The partition being read (with include_child_namespaces), else None.
    _partition_namespace: str | None = None

    # --- SDK hooks -----------------------------------------------------------

    @override
    def get_record_counter(self, **kwargs: Any) -> metrics.Counter:
        return partition_counter(super().get_record_counter(**kwargs))

    @override
    def get_sync_timer(self) -> metrics.Timer:
        return partition_timer(super().get_sync_timer())

    @override
    def log(self, message: str, *args: Any, level: int = logging.INFO, **kwargs: Any) -> None:
        # The SDK logs "An unhandled error occurred while syncing" from inside its
        # ``except``: not for errors the CLI reports as its one line, nor for the
        # record limit that ends each stream of ``--test``.
        if level >= logging.ERROR and _reported_elsewhere(sys.exc_info()[1]):
            return
        super().log(message, *args, level=level, **kwargs)

    @property
    @override
    def url_base(self) -> str:
        return str(self.config["api_url"]).rstrip("/")

    @property
    @override
    def authenticator(self) -> EndorAuthenticator:
        return self._tap.authenticator  # type: ignore[attr-defined]

    @property
    @override
    def http_headers(self) -> dict[str, str]:
        return {
            "Accept": "application/json",
            "Request-Timeout": str(self.request_timeout),
            "User-Agent": self.user_agent,
        }

    @property
    def refused_filter_setting(self) -> str | None:
        """The setting a 400 on this stream's queries points the user to."""
        return self.extra_filter_setting

    @property
    def request_timeout(self) -> int:
        """The deadline the API is asked to honour (seconds)."""
        return int(self.config["request_timeout"])

    @property
    @override
    def timeout(self) -> int:
        # A little longer than the server-side deadline, so the server's 504
        # arrives before our own time-out; a server that ignores Request-Timeout
        # meets ours instead, and a window query then shrinks just the same.
        return self.request_timeout + min(10, max(1, self.request_timeout // 2))

    @property
    def tenant(self) -> str:
        """The tenant namespace the settings name."""
        return str(self.config["namespace"])

    @property
    def namespace(self) -> str:
        """The namespace this stream's queries go to: the partition being read, else the tenant.

        The one place that decides it; queries never traverse, so each namespace
        has its own bookmark (see ``partitions``).
        """
        return self._partition_namespace or self.tenant

    @property
    @override
    def partitions(self) -> list[dict[str, Any]] | None:
        """One partition per namespace with include_child_namespaces, else none.

        The SDK then keeps ``bookmarks.<stream>.partitions[]`` with one bookmark per
        namespace, so a namespace that becomes readable later is read from
        ``start_date`` rather than from a bookmark its objects predate.
        """
        if not self.config.get("include_child_namespaces"):
            return None
        names: list[str] = self._tap.namespace_names()  # type: ignore[attr-defined]
        return [{"namespace": name} for name in names]

    @property
    @override
    def requests_session(self) -> requests.Session:
        session = super().requests_session
        # TLS verification stays on unless ssl_verify is explicitly false.
        session.verify = self.config.get("ssl_verify") is not False
        return session

    @property
    @override
    def is_timestamp_replication_key(self) -> bool:
        # Replication keys are nested paths the SDK cannot look up in the schema.
        return True

    @override
    def get_replication_key_signpost(self, context: Mapping[str, Any] | None = None) -> None:
        # The windows already stop at what the API has; a signpost from the
        # local clock would clamp bookmarks when the server's clock runs ahead.
        return None

    @override
    def _generate_record_messages(
        self, record: dict[str, Any]
    ) -> Generator[RecordMessage, None, None]:
        # As the SDK's, less its walk over every nested field to drop deselected
        # ones (a fifth of the tap's time) when no field is deselected: fields the
        # schema does not know inherit their parent's selection, so nothing would go.
        # With no stream map either, the record goes out as it is (~15% of the time).
        if self._records_pass_unchanged:
            yield RecordMessage(
                stream=self.name,
                record=record,
                version=self._stream_version,
                time_extracted=utc_now(),
            )
            return
        if self._has_deselected_fields:
            pop_deselected_record_properties(record, self.schema, self.mask)
        record = conform_record_data_types(
            stream_name=self.name,
            record=record,
            schema=self.effective_schema,
            level=self.TYPE_CONFORMANCE_LEVEL,
            logger=self.logger,
        )
        for stream_map in self.stream_maps:
            mapped = stream_map.transform(record)
            if mapped is not None:
                yield RecordMessage(
                    stream=stream_map.stream_alias,
                    record=mapped,
                    version=self._stream_version,
                    time_extracted=utc_now(),
                )

    @cached_property
    def _has_deselected_fields(self) -> bool:
        return not all(self.mask.values())

    @cached_property
    def _records_pass_unchanged(self) -> bool:
        """No deselected field, no conformance, and the SDK's identity map alone."""
        maps = self.stream_maps
        return (
            not self._has_deselected_fields
            and self.TYPE_CONFORMANCE_LEVEL == TypeConformanceLevel.NONE
            and len(maps) == 1
            and type(maps[0]) is SameRecordTransform
            and not maps[0].flattening_enabled
            and maps[0].stream_alias == self.name
        )

    @override
    def _increment_stream_state(
        self, latest_record: dict[str, Any], *, context: Mapping[str, Any] | None = None
    ) -> None:
        # Records arrive in ascending order and the bookmark is only read when
        # state is written, so the SDK's bookkeeping (a fifth of the tap's time when
        # run per record) runs then, for the last record: see save_bookmark.
        assert self.replication_key is not None
        value = dotted_get(latest_record, self.replication_key)
        if value is None:
            return
        moment = normalize_or(value, "")
        if not moment:
            return  # an unreadable time never moves the bookmark
        done = self.completed_identity(latest_record)
        pending = self._unsaved_bookmark
        if pending is not None and pending[1] != context:
            self.save_bookmark()  # another partition: its bookmark goes first
            pending = None
        if pending is None:
            # The instant may continue the one already saved in the state.
            state = self.get_context_state(context)
            saved = state.get("replication_key_value")
            if isinstance(saved, str):
                with contextlib.suppress(ValueError):
                    saved = normalize_timestamp(saved)
            if isinstance(saved, str) and saved > moment:
                return  # behind the bookmark: it never moves back (the reader's rule too)
            known = state.get(EMITTED_KEY) if saved == moment else None
            pending = (moment, context, emitted_list(known))
        elif moment < pending[0]:
            return
        elif pending[0] != moment:
            pending = (moment, context, [])
        if done is not None and len(pending[2]) < MAX_EMITTED_AT_BOOKMARK:
            pending[2].append(done)
        self._unsaved_bookmark = pending

    def completed_identity(self, record: Mapping[str, Any]) -> str | None:
        """What the reader must skip next run once ``record`` is safely out, else None.

        A record's own uuid by default; ``findings`` names its scan, and only on
        the scan's last finding, so an interrupted scan is read again whole.
        """
        uid = record.get("uuid")
        return str(uid) if uid is not None else None

    def save_bookmark(self) -> None:
        """Move the last record's bookmark into the state, before anything reads it.

        Called before every STATE message (the SDK writes one after finalising a
        stream), before a partition's state is finalised and when a signal stops
        the tap; a bookmark left unsaved would only be behind (a record exported
        twice), never ahead.

        Beside the SDK's ``replication_key_value`` the state keeps
        ``emitted_at_bookmark``: the uuids (at most ``MAX_EMITTED_AT_BOOKMARK``)
        already emitted at that exact instant.  Bookmarks are inclusive (records
        sharing the instant may still be unread), and this list lets the next run
        skip the ones that were not, so a run after a clean run emits nothing.
        The SDK keeps unknown keys of a stream's or partition's state as they are
        (it only rewrites its own markers), and a state without the key, from an
        older version, means "none known": those records come once more.
        """
        pending, self._unsaved_bookmark = self._unsaved_bookmark, None
        if pending is None:
            return
        moment, context, emitted = pending
        assert self.replication_key is not None
        state = self.get_context_state(context)
        old = state.get("replication_key_value")
        if isinstance(old, str):
            # Older states may hold a bookmark in the API's own width; the SDK
            # compares bookmarks as strings, so bring it to the fixed width first.
            with contextlib.suppress(ValueError):
                state["replication_key_value"] = normalize_timestamp(old)
        # The SDK reads ``record[replication_key]``; ours are nested paths, and
        # API timestamps vary in width, so pass the normalised value instead.
        super()._increment_stream_state({self.replication_key: moment}, context=context)
        if state.get("replication_key_value") == moment:
            state[EMITTED_KEY] = sorted(set(emitted))

    @override
    def _write_state_message(self) -> None:
        self.save_bookmark()
        super()._write_state_message()

    @override
    def _finalize_state(self, state: dict | None = None) -> None:
        self.save_bookmark()
        super()._finalize_state(state)

    @override
    def validate_response(self, response: requests.Response) -> None:
        status = response.status_code
        if status < 400:
            return
        if status == 401:
            raise UnauthenticatedError
        message = _error_message(response)
        if status == 504 and self._split_on_deadline and _is_deadline(response):
            raise DeadlineExceededError(message)
        if status == 429 or status >= 500:
            raise RetriableAPIError(f"HTTP {status}: {message}", response)
        if status == 403:
            raise AccessDeniedError(self._client_error_text(status, message), message)
        raise FatalTapError(self._client_error_text(status, message))

    def _client_error_text(self, status: int, message: str) -> str:
        """One actionable line for a 4xx the tap cannot recover from."""
        if status == 403:
            return (
                f"Access to namespace '{self.namespace}' was denied (HTTP 403: {message}): "
                "give the API key at least the Read-only role there, or fix namespace."
            )
        if status == 404:
            return (
                f"Namespace '{self.namespace}' was not found (HTTP 404: {message}): "
                "check the namespace setting (ENDOR_NAMESPACE)."
            )
        if status == 400:
            return (
                f"The Endor Labs API refused the {self.name} query (HTTP 400: {message}): "
                f"check {self.refused_filter_setting or 'the filter settings'}."
            )
        return f"The Endor Labs API answered HTTP {status} for {self.name}: {message}"

    @override
    def request_decorator(self, func: Callable) -> Callable:
        return backoff.on_exception(
            self.backoff_wait_generator,
            (
                RetriableAPIError,
                requests.exceptions.ConnectionError,
                requests.exceptions.Timeout,
                requests.exceptions.ChunkedEncodingError,
                requests.exceptions.ContentDecodingError,
                ConnectionResetError,
                msgspec.DecodeError,
            ),
            max_tries=self.backoff_max_tries,
            max_time=MAX_RETRY_SECONDS,
            on_backoff=self.backoff_handler,
            jitter=None,
            logger=None,
        )(func)

    @override
    def backoff_wait_generator(self) -> Generator[float, Any, None]:
        def waits() -> Generator[float, Any, None]:
            attempt = 0
            exception = yield  # type: ignore[misc]
            while True:
                response = getattr(exception, "response", None)
                asked = retry_after_seconds(response)
                delay = min(BACKOFF_BASE_SECONDS * 2**attempt, BACKOFF_CAP_SECONDS)
                attempt += 1
                exception = yield asked if asked is not None else delay

        return waits()

    @override
    def backoff_max_tries(self) -> int:
        return MAX_TRIES

    @override
    def backoff_handler(self, details: Any) -> None:
        # Name the failure, never the request (its headers carry the token).
        exception = details.get("exception")
        self.logger.warning(
            "Retrying %s in %.2fs after attempt %d: %s",
            self.name,
            details.get("wait") or 0.0,
            details.get("tries", 0),
            type(exception).__name__ if exception else "error",
        )

    # --- requests --------------------------------------------------------------

    def _send_and_decode(self, prepared: requests.PreparedRequest) -> dict[str, Any]:
        """Send once and decode; a truncated body raises ``msgspec.DecodeError`` (retried).

        Raises:
            DeadlineExceededError: our read time-out on a window query: the
                server may ignore ``Request-Timeout``, and the same query would
                only time out again, so the window shrinks as after a 504.
        """
        try:
            response = self._request(prepared, None)
        except requests.exceptions.RequestException as exc:
            if self._split_on_deadline and _is_read_timeout(exc):
                msg = f"no answer within {self.timeout}s"
                raise DeadlineExceededError(msg) from None
            raise
        body = _decode(response.content)
        if not isinstance(body, dict):
            raise RetriableAPIError("response body is not a JSON object", response)
        return body

    def get_json(
        self, path: str, params: dict[str, Any], *, split_on_deadline: bool = False
    ) -> dict[str, Any]:
        """GET ``path`` with retries and one token renewal on 401.

        Raises:
            FatalTapError: when the credentials are refused after a fresh token.
            DeadlineExceededError: with ``split_on_deadline``, when the query timed out.
        """
        prepared = self.build_prepared_request(
            method="GET", url=self.url_base + path, params=params, headers=self.http_headers
        )
        send = self.request_decorator(self._send_and_decode)
        self._split_on_deadline = split_on_deadline
        try:
            for attempt in range(2):
                try:
                    return send(prepared)
                except UnauthenticatedError:
                    if attempt == 1 or not self.authenticator.can_renew:
                        break
                    self.authenticator.invalidate()
        except RetriableAPIError as exc:
            msg = f"The Endor Labs API kept failing for {self.name} ({exc}); try again later."
            raise FatalTapError(msg) from None
        except (requests.RequestException, msgspec.DecodeError) as exc:
            msg = (
                f"The Endor Labs API at {self.url_base} could not be read for {self.name} "
                f"({type(exc).__name__}): check api_url and the network."
            )
            raise FatalTapError(msg) from None
        finally:
            self._split_on_deadline = False
        msg = (
            "Endor Labs refused the credentials (HTTP 401): check api_key/api_secret "
            "or token (ENDOR_API_CREDENTIALS_KEY/_SECRET, ENDOR_TOKEN)."
        )
        raise FatalTapError(msg)

    def iter_pages(
        self, query: ListQuery, *, split_on_deadline: bool = False, prefetch: bool = False
    ) -> Iterator[list]:
        """Every page of a list query, in order (``pagination.next_cursor`` decides).

        With ``prefetch`` the next page is requested while the caller works through
        this one, so the API's answer time and the tap's own work overlap (the tap
        took twice a plain paging loop's time without it).  One request is in flight
        at a time, always from the same helper thread, so only streams that send no
        other request meanwhile may prefetch (see ``prefetch_pages``).

        Raises:
            SortedPagingUnavailableError: a sorted page gave no way to the next one.
            FatalTapError: the API handed out the same page cursor twice (a loop).
        """

        def fetch(cursor: Cursor | None) -> dict[str, Any]:
            return self.get_json(
                query.path, query.params(cursor), split_on_deadline=split_on_deadline
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
                        raise FatalTapError(self._loop_message(loop)) from None
                    answer = start(cursor)
                yield list_objects(body)
                if cursor is None:
                    return
        finally:
            if pool is not None:
                pool.shutdown(wait=True)

    def _loop_message(self, loop: PagingLoopError) -> str:
        return (
            f"The Endor Labs API sent the same {loop.cursor} twice for {self.name} in "
            f"namespace '{self.namespace}' (a paging loop): stopped before reading it "
            "again; the state written so far resumes the export once the API pages again."
        )

    # --- windows ---------------------------------------------------------------

    def list_path(self, suffix: str = "") -> str:
        """``/v1/namespaces/{namespace}/{resource}{suffix}``."""
        return f"/v1/namespaces/{self.namespace}/{self.resource}{suffix}"

    def window_query(self, lo: datetime, hi: datetime | None, source: str) -> ListQuery:
        """The list query for one window of one source (``active`` unless overridden)."""
        del source
        return ListQuery(
            path=self.list_path(),
            filter=all_of(
                self.base_filter,
                time_range(self.time_field, lo, hi),
                self.config.get(self.extra_filter_setting) if self.extra_filter_setting else None,
            ),
            page_size=int(self.config["page_size"]),
            sort_path=self.time_field,
        )

    def window_sources(self, lo: datetime, hi: datetime | None) -> tuple[str, ...]:
        """Which stores a window reads; one, except at the audit-log archive seam."""
        del lo, hi
        return ("active",)

    def window_edges(self) -> tuple[datetime, ...]:
        """Times no window may cross; the audit logs' seam margins, else none."""
        return ()

    #: Whether ``start_date`` limits the first run. Event streams (audit logs, scans)
    #: honour it; reference data (projects) must be complete whatever the backfill.
    start_date_applies: bool = True

    def start_time(self, context: Mapping[str, Any] | None) -> datetime:
        """Where this run starts: the bookmark (inclusive), else ``start_date``, else 1970."""
        if self.start_date_applies:
            value = self.get_starting_replication_key_value(context) or self.config.get(
                "start_date"
            )
        else:
            # The SDK folds start_date into its starting value; read the bare bookmark.
            value = self.get_context_state(context).get("replication_key_value")
        if value:
            return parse_timestamp(str(value))
        return EPOCH

    def emitted_at_start(self, context: Mapping[str, Any] | None, start: datetime) -> set[str]:
        """The uuids the state says were emitted at ``start``'s instant (see ``save_bookmark``).

        Only when ``start`` is the bookmark itself: a later ``start_date`` starts
        elsewhere, and an older state without the list knows none.
        """
        state = self.get_context_state(context)
        bookmark = state.get("replication_key_value")
        try:
            at_bookmark = bookmark is not None and parse_timestamp(str(bookmark)) == start
        except ValueError:
            at_bookmark = False
        return set(emitted_list(state.get(EMITTED_KEY))) if at_bookmark else set()

    #: The uuids to skip at the start instant of the partition being read.
    _emitted_at_start: frozenset[str] = frozenset()

    def read_windows(self, start: datetime) -> Iterator[dict[str, Any]]:
        """Every object from ``start`` on, ascending on ``time_field``, each once.

        ``last_time`` and ``seen_at_last`` say what is out: everything before
        ``last_time``, and the uuids in ``seen_at_last`` at it.  They start at
        the bookmark with the uuids the state lists for it, so a run after a clean
        run emits nothing again.  Each window skips what lies before where it
        began, which its whole-second lower bound may reach back into.

        After a deadline (a 504, or no answer in time) the rest of the window is
        halved and re-read from the last timestamp emitted, so a split costs
        neither a gap nor a duplicate.  After a sorted page that cannot say where
        the next starts, the window is re-read from there by ``page_id`` without
        sort and ordered here, and so is every later window of the run.

        Raises:
            FatalTapError: when even the smallest window exceeds the deadline.
        """
        planner = WindowPlanner(
            start=start,
            end=None,
            size=timedelta(hours=float(self.config["window_hours"])),
            now=datetime.now(UTC),
        )
        # Normalised timestamps are fixed width: string order is time order, and
        # comparing strings spares a datetime per record.
        last_time = format_timestamp(start)
        seen_at_last: set[str] = set(self._emitted_at_start)
        stuck = 0
        while not planner.finished:
            lo, hi = planner.current(self.window_edges())
            window_start = format_timestamp(lo)
            # Everything before this is out already (or before start).
            floor = min(last_time, window_start)
            pages = 0
            try:
                for objects in self._window_pages(lo, hi, merge_limit=not planner.at_minimum):
                    pages += 1
                    for obj in objects:
                        raw = dotted_get(obj, self.time_field)
                        moment = normalize_or(raw, window_start)
                        if moment < floor:
                            continue
                        uid = str(obj.get("uuid"))
                        if moment == last_time:
                            if uid in seen_at_last:
                                continue
                            seen_at_last.add(uid)
                        elif moment > last_time:
                            last_time, seen_at_last = moment, {uid}
                        yield obj
            except SortedPagingUnavailableError as unsorted:
                self._order_on_client = True
                self.logger.warning(
                    "The API does not page sorted lists (%s): %s now reads its windows by "
                    "page_id without sort and orders them itself",
                    unsorted,
                    self.name,
                )
                planner.restart(max(parse_timestamp(last_time), lo))
                continue
            except WindowTooBigError as too_big:
                last_at = parse_timestamp(last_time)
                resume = last_at if last_at > lo else lo
                if planner.at_minimum:
                    # Nothing left to split: a plain retry, bounded like any other.
                    stuck += 1
                    if stuck >= MAX_TRIES:
                        msg = (
                            f"The Endor Labs API timed out on {self.name} even for a "
                            f"{planner.size} window at {lo.isoformat()}: raise request_timeout."
                        )
                        raise FatalTapError(msg) from None
                    time.sleep(min(BACKOFF_BASE_SECONDS * 2**stuck, BACKOFF_CAP_SECONDS))
                planner.split(resume, tried=None if hi is None else hi - lo)
                self.logger.info(
                    "%s on %s: window now %s (%s)",
                    _split_reason(too_big),
                    self.name,
                    planner.size,
                    too_big,
                )
                continue
            stuck = 0
            # Windows of a few pages amortise each query's fixed cost; grow until then.
            planner.done(hi, cheap=pages <= CHEAP_WINDOW_PAGES)

    def _window_pages(
        self, lo: datetime, hi: datetime | None, *, merge_limit: bool = True
    ) -> Iterator[list]:
        """Pages of one window, in time order.

        Sorted by the API and streamed page by page where it can; held in memory
        and ordered here when the window reads both audit-log stores (the seam)
        or when the API does not page sorted lists (``_order_on_client``: read by
        ``page_id`` without sort, as the official SDK advises).  With
        ``merge_limit`` a held window that outgrows ``SEAM_BUFFER_PAGES`` pages
        raises before anything of it is emitted; the caller halves it and reads
        it again, so memory stays bounded by ``page_size``.

        Raises:
            BufferedWindowTooBigError: when a held window outgrows its buffer.
        """
        sources = self.window_sources(lo, hi)
        if len(sources) == 1 and not self._order_on_client:
            yield from self.iter_pages(
                self.window_query(lo, hi, sources[0]),
                split_on_deadline=True,
                prefetch=self.prefetch_pages,
            )
            return
        limit = SEAM_BUFFER_PAGES * int(self.config["page_size"])
        merged: dict[str, dict[str, Any]] = {}
        for source in sources:
            query = self.window_query(lo, hi, source)
            if self._order_on_client:
                query = query.unsorted()
            for objects in self.iter_pages(query, split_on_deadline=True):
                for obj in objects:
                    merged.setdefault(str(obj.get("uuid")), obj)
                if merge_limit and len(merged) > limit:
                    if len(sources) > 1:
                        raise SeamWindowTooBigError(f"more than {limit} records at the seam")
                    raise BufferedWindowTooBigError(f"more than {limit} records to order")

        def order(obj: dict[str, Any]) -> tuple[str, str]:
            raw = dotted_get(obj, self.time_field)
            return (normalize_or(raw, ""), str(obj.get("uuid")))

        ordered = sorted(merged.values(), key=order)
        # Handed on in pages, so the planner sizes held windows by what they hold.
        size = max(1, int(self.config["page_size"]))
        for begin in range(0, len(ordered), size):
            yield ordered[begin : begin + size]

    @override
    def get_records(self, context: Mapping[str, Any] | None) -> Iterable[dict[str, Any]]:
        self._partition_namespace = (context or {}).get("namespace")
        start = self.start_time(context)
        self._emitted_at_start = frozenset(self.emitted_at_start(context, start))
        tap = self._tap
        progress = self.read_progress(start)
        progress.begin()
        try:
            for record in self.records_since(start):
                # Between records: the previous one is written and in the state.
                if tap.stop_signal is not None:  # type: ignore[attr-defined]
                    raise StopRequested(tap.stop_signal)  # type: ignore[attr-defined]
                progress.record(record)
                yield record
        finally:
            self._partition_namespace = None
            self._emitted_at_start = frozenset()

    def read_progress(self, start: datetime) -> ReadProgress:
        """Progress lines for this read (``progress_interval_seconds``; 0 turns them off)."""
        replication_key = str(self.replication_key)
        return ReadProgress(
            stream=self.name,
            namespace=self.namespace,
            start=start,
            end=datetime.now(UTC),
            interval=float(self.config["progress_interval_seconds"]),
            clock=time.monotonic,
            logger=self.logger,
            position_of=lambda record: dotted_get(record, replication_key),
        )

    def records_since(self, start: datetime) -> Iterator[dict[str, Any]]:
        """The stream's records from ``start`` on, in ``namespace`` (the partition)."""
        yield from self.read_windows(start)

    @override
    def _process_record(
        self,
        record: dict[str, Any],
        child_context: Mapping[str, Any] | None = None,
        partition_context: Mapping[str, Any] | None = None,
    ) -> None:
        # The SDK copies the partition's keys into each record; ours stay the API's
        # objects as served (the namespace is already in tenant_meta.namespace).
        del partition_context
        super()._process_record(record, child_context=child_context, partition_context=None)


def _reported_elsewhere(error: BaseException | None) -> bool:
    """True for an error the CLI turns into its one line, or a ``--test`` record limit."""
    if isinstance(error, FatalTapError | BrokenPipeError):
        return True
    return isinstance(
        error, AbortedSyncPausedException | AbortedSyncFailedException
    ) and isinstance(error.__cause__, MaxRecordsLimitException)


def _split_reason(error: WindowTooBigError) -> str:
    """How the log names why a window was halved."""
    if isinstance(error, DeadlineExceededError):
        return "Deadline exceeded"
    if isinstance(error, SeamWindowTooBigError):
        return "Seam window over its buffer"
    return "Window over its buffer"


def emitted_list(value: Any) -> list[str]:
    """The uuids a state lists under ``emitted_at_bookmark``; [] for anything else.

    State comes from a file the user passes: a missing, odd or oversized value
    only costs duplicates, never a failure.
    """
    if not isinstance(value, list):
        return []
    return [str(item) for item in value[:MAX_EMITTED_AT_BOOKMARK] if isinstance(item, str)]


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
