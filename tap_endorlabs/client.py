"""The SDK adaptor: one ``RESTStream`` subclass for every Endor Labs resource.

Only what the Singer SDK needs lives here: partitions, records, bookmarks and
state.  HTTP (session, token, retries, error wording, paging) is the tap's one
``api.EndorApi``; the window walk (planning, splits, the archive seam, ordering
and de-duplication) is ``window_reader``, plain functions over a page fetcher.
The SDK's private names this class and the tap still rely on are listed in
``SDK_PRIVATE_HOOKS`` and checked against the installed SDK by a test.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import logging
import sys
import time
from collections.abc import Generator, Iterable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from functools import cached_property
from typing import Any, ClassVar

from singer_sdk import metrics
from singer_sdk.exceptions import (
    AbortedSyncFailedException,
    AbortedSyncPausedException,
    MaxRecordsLimitException,
)
from singer_sdk.helpers._catalog import pop_deselected_record_properties
from singer_sdk.helpers._typing import conform_record_data_types
from singer_sdk.helpers._util import utc_now
from singer_sdk.helpers.conform import TypeConformanceLevel
from singer_sdk.mapper import SameRecordTransform
from singer_sdk.singerlib import RecordMessage
from singer_sdk.streams import RESTStream
from typing_extensions import override

from connector_common.settings_env import SDK_PRIVATE_NAMES as ENV_SDK_NAMES
from tap_endorlabs.api import EndorApi, Subject
from tap_endorlabs.empty_prefix import PROBE_PAGE_SIZE, ProbeFailedError
from tap_endorlabs.errors import FatalTapError, StopRequested
from tap_endorlabs.filters import all_of, time_range
from tap_endorlabs.metrics import partition_counter, partition_timer
from tap_endorlabs.pagination import ListQuery, list_objects, next_page_id, next_page_token
from tap_endorlabs.partitions_ahead import PartitionPlan, PartitionsAhead, share_of
from tap_endorlabs.progress import ReadProgress
from tap_endorlabs.reconciliation import (
    STREAM_NAME as RECONCILIATIONS,
)
from tap_endorlabs.reconciliation import (
    EmittedSince,
    ScanReconciliation,
    reconciliation_record,
)
from tap_endorlabs.timestamps import (
    format_timestamp,
    normalize_or,
    normalize_timestamp,
    parse_timestamp,
)
from tap_endorlabs.window_reader import (
    Page,
    PagingMode,
    ReaderSettings,
    Reconciliation,
    WindowQuery,
    dotted_get,
    read_windows,
)

#: What a stream's read yields: records, and after each checked window or scan its check.
ReadItem = dict[str, Any] | Reconciliation | ScanReconciliation

# The uuids emitted at the bookmark's instant that the state keeps, per stream
# and namespace, so the next run does not emit them again (see save_bookmark).
# Past this many (a burst within one microsecond) the rest may be emitted twice.
MAX_EMITTED_AT_BOOKMARK = 200
#: State key (beside ``replication_key_value``) of those uuids.
EMITTED_KEY = "emitted_at_bookmark"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
#: How far past this run's start a record's time may move the bookmark (clock skew).
FUTURE_MARGIN = timedelta(days=1)

#: The SDK's private names this module and ``tap.py`` override or call, with the
#: parameters relied on (None: only the name).  ``tests/test_tap/test_sdk_hooks.py``
#: checks each against the installed singer-sdk, so an upgrade that renames or
#: reshapes one fails with this list rather than misbehaving quietly.
SDK_PRIVATE_HOOKS: dict[str, tuple[str, ...] | None] = {
    "singer_sdk.streams.core.Stream._generate_record_messages": ("self", "record"),
    "singer_sdk.streams.core.Stream._increment_stream_state": (
        "self",
        "latest_record",
        "context",
    ),
    "singer_sdk.streams.core.Stream._write_state_message": ("self",),
    "singer_sdk.streams.core.Stream._write_record_message": ("self", "record"),
    "singer_sdk.streams.core.Stream._write_schema_message": ("self",),
    "singer_sdk.streams.core.Stream._finalize_state": ("self", "state"),
    "singer_sdk.streams.core.Stream._process_record": (
        "self",
        "record",
        "child_context",
        "partition_context",
    ),
    "singer_sdk.streams.core.Stream._tap": None,
    "singer_sdk.streams.core.Stream._stream_version": None,
    "singer_sdk.tap_base.Tap._handle_termination": ("self", "signum", "frame"),
    "singer_sdk.plugin_base.PluginBase._validate_config": ("self", "raise_errors"),
    "singer_sdk.plugin_base.PluginBase._config": None,
    "singer_sdk.tap_base.Tap._state_writer": None,
    "singer_sdk.helpers._catalog.pop_deselected_record_properties": ("record", "schema", "mask"),
    "singer_sdk.helpers._typing.conform_record_data_types": (
        "stream_name",
        "record",
        "schema",
        "level",
        "logger",
    ),
    "singer_sdk.helpers._util.utc_now": (),
    "singer_sdk.plugin_base._ConfigInput": None,
    # --config=ENV: connector_common/settings_env.py (the plugin overrides _env_var_config).
    **ENV_SDK_NAMES,
}


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
    #: Whether the API keeps this resource in an archive too (audit logs).
    has_archive: ClassVar[bool] = False

    primary_keys: ClassVar[list[str]] = ["uuid"]
    is_sorted = True
    # Sorted streams resume from their last STATE: a tight interval bounds what an
    # interrupted run exports twice (the SDK's default is every 10,000 records).
    STATE_MSG_FREQUENCY = 1000
    # Records are the API's JSON as is: no per-record conformance (it would cost
    # time and could only drop or coerce fields the contract says to keep).
    TYPE_CONFORMANCE_LEVEL = TypeConformanceLevel.NONE

    #: The last record's bookmark value, partition and the identities (uuids)
    #: completed at that value, not yet in the state.
    _unsaved_bookmark: tuple[str, Mapping[str, Any] | None, list[str]] | None = None
    #: The partition being read (with include_child_namespaces), else None.
    _partition_namespace: str | None = None
    #: Whether windows are read sorted by the API or ordered here; shared by
    #: every window (and partition) of the run once the API shows it cannot page
    #: sorted lists.
    _paging_mode: PagingMode | None = None

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
        return self.api.url_base

    @property
    def api(self) -> EndorApi:
        """The tap's one API client (shared by every stream)."""
        return self._tap.api  # type: ignore[attr-defined]

    @property
    def subject(self) -> Subject:
        """What this stream reads now, for the API client's error messages."""
        return Subject(self.name, self.namespace, self.refused_filter_setting)

    @property
    def refused_filter_setting(self) -> str | None:
        """The setting a 400 on this stream's queries points the user to."""
        return self.extra_filter_setting

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
        if moment > self.bookmark_horizon:
            # Nor does one far in the future (9999-12-31): every later run would
            # start there and never export another record. It is exported again
            # by each run instead (at least once).
            return
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

    @cached_property
    def bookmark_horizon(self) -> str:
        """The latest time a bookmark may take: this run's start plus ``FUTURE_MARGIN``.

        The margin leaves room for a server clock ahead of ours (the windows
        never stop at our clock: see ``get_replication_key_signpost``).
        """
        return format_timestamp(datetime.now(UTC) + FUTURE_MARGIN)

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

    # --- requests --------------------------------------------------------------

    def iter_pages(self, query: ListQuery, *, prefetch: bool = False) -> Iterator[Page]:
        """Every page of ``query`` through the tap's API client, errors naming this stream."""
        return self.api.iter_pages(query, subject=self.subject, prefetch=prefetch)

    def fetch_window(self, window: WindowQuery) -> Iterator[Page]:
        """The pages of one window of one store: what ``window_reader`` reads through.

        Sorted pages stream with the next one requested ahead; a 504 or our own
        read time-out raises ``DeadlineExceededError`` so the reader halves the window.
        """
        query = self.window_query(window.lo, window.hi, window.source)
        if window.unsorted:
            query = query.unsorted()
        if window.page_size is not None:
            query = dataclasses.replace(query, page_size=window.page_size)
        return self.api.iter_pages(
            query, subject=self.subject, split_on_deadline=True, prefetch=not window.unsorted
        )

    def oldest_time(self, window: WindowQuery) -> datetime | None:
        """The oldest record's time in one store from ``window.lo`` on; None when it holds none.

        One sorted page (ascending on ``time_field``, no cursor: the API refuses
        ``page_id`` with a sort), masked to the uuid and the time.  Only a hint:
        ``empty_prefix`` proves the stretch before it empty by the API's count.

        Raises:
            ProbeFailedError: records came back, none with a readable time; or none came
                back on a page that says more follows.
            DeadlineExceededError: the probe timed out.
        """
        query = self.probe_query(window)
        body = self.api.get_json(
            query.path, query.params(), subject=self.subject, split_on_deadline=True
        )
        objects = list_objects(body)
        times = []
        for obj in objects:
            with contextlib.suppress(ValueError, TypeError):
                times.append(parse_timestamp(str(dotted_get(obj, self.time_field))))
        if objects and not times:
            msg = f"none of {len(objects)} records carries a readable {self.time_field}"
            raise ProbeFailedError(msg)
        if not objects and (next_page_token(body) is not None or next_page_id(body)):
            # An empty page that says more follows is not an empty store (the API may
            # answer so); the probe reads one page only, so it knows nothing.
            msg = "the sorted page came back empty, yet says more follows"
            raise ProbeFailedError(msg)
        return min(times, default=None)

    def probe_query(self, window: WindowQuery) -> ListQuery:
        """``oldest_time``'s query: the window's from ``lo`` on, one small sorted masked page."""
        return dataclasses.replace(
            self.window_query(window.lo, None, window.source),
            page_size=PROBE_PAGE_SIZE,
            mask=("uuid", self.time_field),
        )

    def count_window(self, window: WindowQuery) -> int:
        """The API's count of one window of one store: the same filter, ``count=true``.

        A 504 raises ``DeadlineExceededError`` so the reader halves the window.
        """
        query = self.window_query(window.lo, window.hi, window.source)
        return self.api.count(query, subject=self.subject, split_on_deadline=True)

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
        return emitted_in(self.get_context_state(context), start)

    def planned_start(self, state: Mapping[str, Any]) -> datetime:
        """``start_time`` of a partition not begun yet, from its state as it stands.

        As the SDK will compute its starting value (the bookmark if it is of this
        replication key, the later of it and ``start_date``), without writing
        anything into the state: a plan, checked against ``start_time`` when the
        partition's turn comes.
        """
        value: Any
        if self.start_date_applies:
            value = None
            bookmark = state.get("replication_key_value")
            if bookmark and state.get("replication_key") == self.replication_key:
                value = bookmark
            if start_date := self.config.get("start_date"):
                value = self.compare_start_date(value, start_date) if value else start_date
        else:
            value = state.get("replication_key_value")
        return parse_timestamp(str(value)) if value else EPOCH

    # --- namespaces read ahead ---------------------------------------------------

    #: The partitions read ahead of the one being emitted (see ``partition_items``).
    _partitions_ahead: PartitionsAhead | None = None
    #: Windows (or scans) read at once, when a share of ``max_concurrent_requests``.
    _reading_ahead: int | None = None

    @property
    def reading_ahead(self) -> int:
        """Windows (or scans) read at once: the setting, or a share while namespaces are."""
        return self._reading_ahead or int(self.config["max_concurrent_requests"])

    def partition_items(
        self, context: Mapping[str, Any] | None, start: datetime
    ) -> Iterator[ReadItem]:
        """``records_since(start)`` of the partition, read ahead with the next ones.

        With several namespaces and ``max_concurrent_requests`` > 1 the next
        partitions are read while this one is emitted (``partitions_ahead``);
        what the SDK gets is what one partition after another gives.
        """
        total = int(self.config["max_concurrent_requests"])
        contexts = self.partitions if context is not None else None
        if context is None or not contexts or len(contexts) < 2 or total <= 1:
            return self.records_since(start)
        plan = PartitionPlan(dict(context), start, self._emitted_at_start)
        if self._partitions_ahead is None:
            if plan.context not in contexts:
                return self.records_since(start)
            rest = contexts[contexts.index(plan.context) :]
            if self._paging_mode is None:
                self._paging_mode = PagingMode()  # one for every partition, as one at a time
            share = share_of(total, len(rest))
            self._partitions_ahead = PartitionsAhead(
                (self.plan_partition(each, share) for each in rest),
                lambda planned: planned.reader.records_since(planned.start),
                total,
            )
        items = self._partitions_ahead.take(plan)
        if items is None:
            self.close_partitions_ahead()
            return self.records_since(start)
        return items

    def plan_partition(self, context: dict[str, Any], share: int) -> PartitionPlan:
        """Where a partition not begun yet starts, and a reader of it (a copy of this stream).

        Runs on the emitting thread, between records.  The state is only read
        (a partition's own state changes only as its records are emitted), and
        the copy carries the partition, so worker threads never look at this
        stream's per-partition attributes.
        """
        state = self.partition_state_as_is(context)
        start = self.planned_start(state)
        emitted = frozenset(emitted_in(state, start))
        reader = copy.copy(self)
        reader._partition_namespace = context.get("namespace")
        reader._emitted_at_start = emitted
        reader._reading_ahead = share
        reader._partitions_ahead = None
        return PartitionPlan(dict(context), start, emitted, reader)

    def partition_state_as_is(self, context: Mapping[str, Any]) -> Mapping[str, Any]:
        """A partition's state in the tap's state, without creating it ({} if absent)."""
        stream_state = (self.tap_state.get("bookmarks") or {}).get(self.name) or {}
        for entry in stream_state.get("partitions") or []:
            if isinstance(entry, dict) and entry.get("context") == context:
                return entry
        return {}

    def close_partitions_ahead(self) -> None:
        """Stop reading partitions ahead (the stream ended, failed or was stopped)."""
        ahead, self._partitions_ahead = self._partitions_ahead, None
        if ahead is not None:
            ahead.close()

    # --- reading ------------------------------------------------------------------

    #: The uuids to skip at the start instant of the partition being read.
    _emitted_at_start: frozenset[str] = frozenset()

    def reader_settings(self) -> ReaderSettings:
        """What the window reader needs to know about this stream."""
        return ReaderSettings(
            time_field=self.time_field,
            window_size=timedelta(hours=float(self.config["window_hours"])),
            page_size=int(self.config["page_size"]),
            sources=self.window_sources,
            edges=self.window_edges,
            name=self.name,
            namespace=self.namespace,
            now=self.api.clock.now,
            logger=self.logger,
            # Its pauses between tries end when the tap is asked to stop, as the API's do.
            sleep=self.api.retry.pause,
            # The same budget as every request's (``TapEndorLabs.retry_policy``).
            retry_budget_seconds=self.api.retry.budget_seconds,
        )

    #: Whether a walk from long ago first jumps over its empty start (``empty_prefix``).
    #: No setting: the jump changes no record, only the requests; tests turn it off
    #: to compare with the plain walk.
    skip_empty_prefix: ClassVar[bool] = True

    def read_windows(self, start: datetime) -> Iterator[dict[str, Any] | Reconciliation]:
        """Every object from ``start`` on, ascending on ``time_field``, each once.

        See ``window_reader.read_windows``: this stream supplies the fetcher
        (``fetch_window``), the counter (``count_window``: every window is
        checked against the API's count), its settings and the uuids already
        emitted at ``start``.  Each window's ``Reconciliation`` follows its records.
        """
        if self._paging_mode is None:
            self._paging_mode = PagingMode()
        return read_windows(
            self.fetch_window,
            start,
            self.reader_settings(),
            emitted_at_start=self._emitted_at_start,
            mode=self._paging_mode,
            ahead=self.reading_ahead,
            count=self.count_window,
            oldest=self.oldest_time if self.skip_empty_prefix else None,
        )

    @override
    def get_records(self, context: Mapping[str, Any] | None) -> Iterable[dict[str, Any]]:
        self._partition_namespace = (context or {}).get("namespace")
        start = self.start_time(context)
        self._emitted_at_start = frozenset(self.emitted_at_start(context, start))
        tap = self._tap
        progress = self.read_progress(start)
        progress.begin()
        records = self.partition_items(context, start)
        emitted = EmittedSince(str(self.replication_key or self.time_field))
        finished = False
        try:
            for record in records:
                # Between records: the previous one is written and in the state.
                if tap.stop_signal is not None:  # type: ignore[attr-defined]
                    raise StopRequested(tap.stop_signal)  # type: ignore[attr-defined]
                if isinstance(record, Reconciliation | ScanReconciliation):
                    # Every record it covers is written: the SDK wrote each one
                    # before asking for the next item.
                    self.write_reconciliation(record, emitted)
                    continue
                progress.record(record)
                emitted.add(record)
                yield record
            finished = True
        finally:
            if not finished:
                self.close_partitions_ahead()
            # Stops the windows read ahead now (not whenever the generator is
            # collected), before the partition they read is forgotten.
            close = getattr(records, "close", None)
            if close is not None:
                close()
            self._partition_namespace = None
            self._emitted_at_start = frozenset()

    def write_reconciliation(
        self, checked: Reconciliation | ScanReconciliation, emitted: EmittedSince
    ) -> None:
        """Emit the ``reconciliations`` record of a checked window or scan (if selected)."""
        stream = self._tap.streams.get(RECONCILIATIONS)
        if stream is None or not stream.selected or self.config.get("batch_config"):
            # With batch_config the SDK writes a stream's records as BATCH files after
            # the fact, so no record here could follow the records it covers: the check
            # still runs (a shortfall still stops the run), only its proof is not sent.
            emitted.reset()
            return
        record = reconciliation_record(
            self.name, self.namespace, checked, emitted, has_archive=self.has_archive
        )
        emitted.reset()
        stream.write_checked(record)  # type: ignore[attr-defined]

    def read_progress(self, start: datetime) -> ReadProgress:
        """Progress lines for this read (``progress_interval_seconds``; 0 turns them off).

        From 1970 (no start_date, no bookmark) the range is measured from the
        first record instead (see ``ReadProgress``).
        """
        replication_key = str(self.replication_key)
        return ReadProgress(
            stream=self.name,
            namespace=self.namespace,
            start=None if start <= EPOCH else start,
            end=datetime.now(UTC),
            interval=float(self.config["progress_interval_seconds"]),
            clock=time.monotonic,
            logger=self.logger,
            position_of=lambda record: dotted_get(record, replication_key),
        )

    def records_since(self, start: datetime) -> Iterator[ReadItem]:
        """The stream's records from ``start`` on, in ``namespace`` (the partition).

        After the records of each checked window or scan comes its check.
        """
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


def emitted_list(value: Any) -> list[str]:
    """The uuids a state lists under ``emitted_at_bookmark``; [] for anything else.

    State comes from a file the user passes: a missing, odd or oversized value
    only costs duplicates, never a failure.
    """
    if not isinstance(value, list):
        return []
    return [str(item) for item in value[:MAX_EMITTED_AT_BOOKMARK] if isinstance(item, str)]


def emitted_in(state: Mapping[str, Any], start: datetime) -> set[str]:
    """The uuids a (partition's) state lists as emitted at ``start``, if that is its bookmark."""
    bookmark = state.get("replication_key_value")
    try:
        at_bookmark = bookmark is not None and parse_timestamp(str(bookmark)) == start
    except ValueError:
        at_bookmark = False
    return set(emitted_list(state.get(EMITTED_KEY))) if at_bookmark else set()
