"""List calls: parameters, the candidate range, filtering, sorting, paging, masks.

A list call is planned first (which rows it must touch: the namespaces asked
for, narrowed by the creation-time index and the archive boundary) so the
cost model can price it before any work is done, then executed. Unsorted
pages are produced by a lazy scan that stops once the page (+1) is full;
offset paging and sorting work on the full match list, which is cached per
query until the data changes.
"""

from __future__ import annotations

import json
import re
import threading
import zlib
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.emulator.clock import MICROS, parse_rfc3339_us
from tests.emulator.errors import invalid
from tests.emulator.filters import (
    compile_filter,
    equality_values,
    mentions,
    parse,
    resolve,
    time_bounds,
    without_time_bounds,
)
from tests.emulator.paths import check_filter_paths
from tests.emulator.store import Record, Store, Table, encode

PREFIX = "list_parameters."
DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 500
SORT_ORDERS = {"SORT_ENTRY_ORDER_ASC": False, "SORT_ENTRY_ORDER_DESC": True}
_TRUE = {"true": True, "1": True, "false": False, "0": False}
TIME_INDEX_PATH = "meta.create_time"
#: Paths a filter may pin with ``==`` / ``in`` that the emulator looks up instead of
#: scanning: identities, never changed in place (``Table.with_values``).
VALUE_INDEX_PATHS = ("uuid", "context.id", "spec.project_uuid", "meta.parent_uuid")
PAGING_MODES = (
    "normal",
    "sorted-without-token",
    "non-advancing",
    "empty-pages",
    "overlapping",
    "missing-row-once",
    "missing-row-always",
    "sorted-first-missing",
)
#: ``empty-pages``: a token at or past this is an offset already announced by an
#: empty page (token - EMPTY_TOKEN_SHIFT); below it, the page comes back empty first.
EMPTY_TOKEN_SHIFT = 1_000_000_000
#: ``overlapping``: each next page repeats this many rows of the page before.
OVERLAP_ROWS = 2
TIMESTAMP_STYLES = ("plain", "mixed")
_RFC3339_UTC = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$")
# Offsets a "mixed" time may carry (minutes east of UTC): Z, India, US Pacific.
_OFFSETS = (0, 330, -480)
_WIDTHS = (0, 3, 6, 9)


def mixed_timestamp(text: str, field: str, salt: str) -> str:
    """``text`` (RFC 3339 UTC) with 0, 3, 6 or 9 fractional digits and Z or an offset.

    The offset is picked from a hash of ``salt`` (uuid and field), so a record
    always looks the same.  The width is picked per ``field`` and whole second,
    and digits past it are cut: all times of a field within one second share a
    precision, as on a server that stored them so, so cutting never reorders two
    times (it may make them equal), and whole-second filters select the same rows.
    """
    us = parse_rfc3339_us(text)
    seconds, micros = divmod(us, MICROS)
    width = _WIDTHS[zlib.crc32(f"{field}:{seconds}".encode()) % len(_WIDTHS)]
    offset_min = _OFFSETS[zlib.crc32(salt.encode()) % len(_OFFSETS)]
    local = datetime.fromtimestamp(seconds, UTC) + timedelta(minutes=offset_min)
    fraction = f"{micros:06d}000"[:width]
    zone = "Z"
    if offset_min:
        sign = "+" if offset_min > 0 else "-"
        hours, minutes = divmod(abs(offset_min), 60)
        zone = f"{sign}{hours:02d}:{minutes:02d}"
    return local.strftime("%Y-%m-%dT%H:%M:%S") + (f".{fraction}" if width else "") + zone


def _mix_times(node: Any, uuid: str, path: str = "") -> Any:
    if isinstance(node, dict):
        return {key: _mix_times(value, uuid, f"{path}.{key}") for key, value in node.items()}
    if isinstance(node, list):
        return [_mix_times(value, uuid, path) for value in node]
    if isinstance(node, str) and _RFC3339_UTC.match(node):
        return mixed_timestamp(node, path, f"{uuid}{path}")
    return node


_TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}")


@dataclass(frozen=True)
class ListParams:
    """The ``list_parameters.*`` of one request, validated."""

    filter: str | None = None
    page_size: int = DEFAULT_PAGE_SIZE
    page_token: int | None = None
    page_id: str | None = None
    sort_path: str | None = None
    sort_desc: bool = False
    mask: tuple[str, ...] = ()
    traverse: bool = False
    count: bool = False
    ci_run_uuid: str | None = None


def _one(query: dict[str, list[str]], name: str) -> str | None:
    values = query.get(PREFIX + name)
    return values[-1] if values else None


def _flag(query: dict[str, list[str]], name: str) -> bool:
    raw = _one(query, name)
    if raw is None or raw == "":
        return False
    if raw.lower() not in _TRUE:
        raise invalid(f"{PREFIX}{name}: {raw!r} is not a boolean (use true or false)")
    return _TRUE[raw.lower()]


def parse_params(query: dict[str, list[str]]) -> ListParams:
    """Validate the query string; each refusal names the parameter."""
    size_text = _one(query, "page_size")
    page_size = DEFAULT_PAGE_SIZE
    if size_text not in (None, ""):
        try:
            page_size = int(size_text)  # type: ignore[arg-type]
        except ValueError:
            raise invalid(f"{PREFIX}page_size: {size_text!r} is not an integer") from None
        if page_size < 0:
            raise invalid(f"{PREFIX}page_size: must not be negative, got {page_size}")
        if page_size > MAX_PAGE_SIZE:
            raise invalid(f"{PREFIX}page_size: {page_size} exceeds the maximum of {MAX_PAGE_SIZE}")
        page_size = page_size or DEFAULT_PAGE_SIZE
    token_text = _one(query, "page_token")
    page_token = None
    if token_text not in (None, ""):
        try:
            page_token = int(token_text)  # type: ignore[arg-type]
        except ValueError:
            raise invalid(f"{PREFIX}page_token: {token_text!r} is not a valid page token") from None
        if page_token < 0:
            raise invalid(f"{PREFIX}page_token: {token_text!r} is not a valid page token")
    page_id = _one(query, "page_id") or None
    sort_path = _one(query, "sort.path") or None
    order_text = _one(query, "sort.order") or None
    if order_text is not None and order_text not in SORT_ORDERS:
        raise invalid(f"{PREFIX}sort.order: {order_text!r} is not one of {', '.join(SORT_ORDERS)}")
    if page_id is not None and (sort_path is not None or order_text is not None):
        raise invalid("page id cannot be provided with sort method")
    mask_text = _one(query, "mask") or ""
    mask = tuple(part.strip() for part in mask_text.split(",") if part.strip())
    return ListParams(
        filter=_one(query, "filter") or None,
        page_size=page_size,
        page_token=page_token,
        page_id=page_id,
        sort_path=sort_path,
        sort_desc=SORT_ORDERS.get(order_text or "", False),
        mask=mask,
        traverse=_flag(query, "traverse"),
        count=_flag(query, "count"),
        ci_run_uuid=_one(query, "ci_run_uuid") or None,
    )


@dataclass
class Plan:
    """What a list call will touch, known before any row is read."""

    table: Table
    namespaces: frozenset[str]
    predicate: Callable[[dict[str, Any]], bool] | None
    low_us: int | None
    high_us: int | None
    rows: int
    filters_message_kind: bool
    key: tuple[Any, ...]
    #: Indexed paths the filter pins, with their values: every match has one of them.
    pinned: tuple[tuple[str, frozenset[str]], ...] = ()


def plan(
    store: Store,
    resource: str,
    namespaces: frozenset[str],
    params: ListParams,
    *,
    now_us: int,
    window: tuple[int | None, int | None] = (None, None),
) -> Plan:
    """Parse the filter and find the candidate range (``window``: the archive split)."""
    predicate = None
    low, high = window
    message_kind = False
    pinned: list[tuple[str, frozenset[str]]] = []
    if params.filter:
        node = parse(params.filter, now_us)
        check_filter_paths(resource, node)
        residual = without_time_bounds(node, TIME_INDEX_PATH)
        predicate = None if residual is None else compile_filter(residual)
        message_kind = mentions(node, "spec.message_kind")
        for path in VALUE_INDEX_PATHS:
            values = equality_values(node, path)
            if values is not None:
                pinned.append((path, values))
        f_low, low_inc, f_high, high_inc = time_bounds(node, TIME_INDEX_PATH)
        if f_low is not None:
            f_low = f_low if low_inc else f_low + 1
            low = f_low if low is None else max(low, f_low)
        if f_high is not None:
            f_high = f_high + 1 if high_inc else f_high
            high = f_high if high is None else min(high, f_high)
    if params.ci_run_uuid:
        run, inner = params.ci_run_uuid, predicate

        def in_run(obj: dict[str, Any]) -> bool:
            context = obj.get("context") or {}
            if context.get("type") != "CONTEXT_TYPE_CI_RUN" or context.get("id") != run:
                return False
            return inner is None or inner(obj)

        predicate = in_run
        pinned.append(("context.id", frozenset({run})))
    table = store.tables[resource]
    with store.lock:
        rows = table.count_in(namespaces, low, high)
        version = store.version
        # The rows a query touches, not its time bounds: the archive boundary moves
        # with the clock on every request, and keying on it meant the cache never hit.
        row_span = table.span(low, high)
    key = (
        resource,
        namespaces,
        params.filter,
        params.ci_run_uuid,
        row_span,
        params.sort_path,
        params.sort_desc,
        version,
    )
    return Plan(table, namespaces, predicate, low, high, rows, message_kind, key, tuple(pinned))


def _sort_key(path: str) -> Callable[[Record], tuple[Any, ...]]:
    ranks = {bool: 1, int: 2, float: 2, str: 4}

    def key(record: Record) -> tuple[Any, ...]:
        value = resolve(record.data(), path)
        if value is None:
            return (0, 0)
        if isinstance(value, str) and _TIMESTAMP.match(value):
            # Timestamps sort by time: with 0, 3 or 9 digits their text order is not.
            try:
                return (3, parse_rfc3339_us(value))
            except ValueError:
                pass
        rank = ranks.get(type(value), 5)
        return (rank, value if rank < 5 else encode(value))

    return key


class Lister:
    """Executes planned list calls, caching full match lists per query.

    ``paging`` plays how a server (or a proxy) may page: ``normal``;
    ``sorted-without-token`` (sorted pages never carry ``next_page_token``, and
    carry ``next_page_id`` while more follow); ``non-advancing`` (every
    ``next_page_token`` / ``next_page_id`` repeats the cursor the request sent:
    a loop); ``empty-pages`` (every other page comes back with no objects but a
    ``next_page_token``, as AIP-158 allows: "fewer results, including zero");
    ``overlapping`` (each next page repeats the last ``OVERLAP_ROWS`` rows of the
    one before, as an offset page does when rows shift); ``missing-row-once``
    (the first page of each resource with two rows or more leaves its middle row
    out, the cursor moving on as if it had been sent: a row lost under load);
    ``missing-row-always`` (one audit log, the middle one of the table, is never
    listed, yet counted); ``sorted-first-missing`` (the first page of every sorted
    list call leaves its first row out, the cursor moving on as if it had been
    sent: an ascending sort's "oldest record" is then not the oldest).  Counts
    (``list_parameters.count``) are the truth in every mode.  ``timestamps``
    ``mixed`` serves every time with 0/3/6/9 digits and Z or an offset
    (``mixed_timestamp``).
    """

    def __init__(
        self,
        store: Store,
        cache_size: int = 16,
        *,
        paging: str = "normal",
        timestamps: str = "plain",
    ) -> None:
        self.store = store
        self.paging = paging
        self.timestamps = timestamps
        self._cache: OrderedDict[tuple[Any, ...], list[Record]] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()
        #: ``missing-row-once``: the resources that have lost their row already.
        self._dropped_once: set[str] = set()
        #: ``missing-row-always``: the uuid never listed (chosen at first use).
        self._hidden: str | None = None

    def _matches(self, query: Plan, record: Record) -> bool:
        if record.namespace not in query.namespaces:
            return False
        return query.predicate is None or query.predicate(record.data())

    def full(self, query: Plan, sort_path: str | None, sort_desc: bool) -> list[Record]:
        """Every match in order (uuid order, or the sort), cached per query and data version."""
        with self._lock:
            cached = self._cache.get(query.key)
            if cached is not None:
                self._cache.move_to_end(query.key)
                return cached
        with self.store.lock:
            records = self._candidates(query)
            if records is None:
                lo, hi = query.table.span(query.low_us, query.high_us)
                records = query.table.records[lo:hi]
        found = [r for r in records if self._matches(query, r)]
        # Tables are held in creation order with ties in uuid order, which is what a
        # stable ascending sort on meta.create_time gives: no need to decode and sort.
        if sort_path and (sort_path, sort_desc) != (TIME_INDEX_PATH, False):
            found.sort(key=_sort_key(sort_path), reverse=sort_desc)
        with self._lock:
            self._cache[query.key] = found
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return found

    def page(self, query: Plan, params: ListParams) -> bytes:
        """The response body of a list call."""
        if params.count:
            count = len(self.full(query, None, False))
            return encode({"count_response": {"count": count}})
        size = params.page_size
        response: dict[str, Any] = {}
        token = params.page_token
        if self.paging == "empty-pages":
            if token is not None and token >= EMPTY_TOKEN_SHIFT:
                token -= EMPTY_TOKEN_SHIFT
            elif params.page_id is None:
                # No objects, yet a token: the page after it holds them.
                return self._body([], {"next_page_token": (token or 0) + EMPTY_TOKEN_SHIFT})
        if params.sort_path or token:
            matches = self.full(query, params.sort_path, params.sort_desc)
            start = token or 0
            page = matches[start : start + size]
            if start + size < len(matches):
                step = size - OVERLAP_ROWS if self.paging == "overlapping" and size > 2 else size
                response["next_page_token"] = start + step
                if not params.sort_path:
                    response["next_page_id"] = page[-1].uuid
                elif self.paging == "sorted-without-token":
                    response = {"next_page_id": page[-1].uuid}
                if self.paging == "non-advancing" and params.page_token:
                    response["next_page_token"] = params.page_token
        else:
            page = self._scan(query, params.page_id, size + 1)
            if len(page) > size:
                page = page[:size]
                last = (
                    page[-1 - OVERLAP_ROWS]
                    if self.paging == "overlapping" and size > 2
                    else page[-1]
                )
                response["next_page_id"] = last.uuid
                if params.page_id is None:
                    response["next_page_token"] = size
                elif self.paging == "non-advancing":
                    response["next_page_id"] = params.page_id
        page = self._leave_out(query, page)
        if self.paging == "sorted-first-missing" and params.sort_path and not token:
            page = page[1:]
        return self._body([self._render(record, params.mask) for record in page], response)

    def _leave_out(self, query: Plan, page: list[Record]) -> list[Record]:
        """The page less the row the ``missing-row-*`` modes leave out (cursors unchanged)."""
        if self.paging == "missing-row-always":
            if self._hidden is None:
                table = self.store.tables["audit-logs"]
                with self.store.lock:
                    records = table.records
                    self._hidden = records[len(records) // 2].uuid if records else ""
            return [record for record in page if record.uuid != self._hidden]
        if self.paging == "missing-row-once" and len(page) >= 2:
            resource = str(query.key[0])
            with self._lock:
                if resource in self._dropped_once:
                    return page
                self._dropped_once.add(resource)
            middle = len(page) // 2
            return page[:middle] + page[middle + 1 :]
        return page

    @staticmethod
    def _body(objects: list[bytes], response: dict[str, Any]) -> bytes:
        return b"".join(
            (
                b'{"list":{"objects":[',
                b",".join(objects),
                b'],"response":',
                encode(response),
                b"}}",
            )
        )

    def _scan(self, query: Plan, after: str | None, limit: int) -> list[Record]:
        """Matches in uuid order after ``after``, stopping at ``limit``."""
        table = query.table
        with self.store.lock:
            candidates = self._candidates(query)
            if candidates is not None:
                return self._scan_candidates(query, candidates, after, limit)
            lo, hi = table.span(query.low_us, query.high_us)
            if after is not None:
                lo = max(lo, table.index_after(after, lo, hi))
            records = table.records
            out: list[Record] = []
            for index in range(lo, hi):
                record = records[index]
                if self._matches(query, record):
                    out.append(record)
                    if len(out) >= limit:
                        break
            return out

    @staticmethod
    def _candidates(query: Plan) -> list[Record] | None:
        """The fewest records the pinned paths allow, in table order and time range; None: scan.

        Callers hold the store lock.
        """
        best: list[Record] | None = None
        for path, values in query.pinned:
            found = query.table.with_values(path, values)
            if best is None or len(found) < len(best):
                best = found
        if best is None or (query.low_us is None and query.high_us is None):
            return best
        low = query.low_us if query.low_us is not None else -1
        high = query.high_us
        return [r for r in best if r.create_us >= low and (high is None or r.create_us < high)]

    def _scan_candidates(
        self, query: Plan, candidates: list[Record], after: str | None, limit: int
    ) -> list[Record]:
        """As ``_scan`` over pinned candidates: matches after ``after``, at most ``limit``."""
        start = 0
        if after is not None:
            known = query.table.by_uuid.get(after)
            if known is not None:
                mark = (known.create_us, known.uuid)
                start = next(
                    (i for i, r in enumerate(candidates) if (r.create_us, r.uuid) > mark),
                    len(candidates),
                )
            else:
                start = next(
                    (i for i, r in enumerate(candidates) if r.uuid > after), len(candidates)
                )
        out: list[Record] = []
        for record in candidates[start:]:
            if self._matches(query, record):
                out.append(record)
                if len(out) >= limit:
                    break
        return out

    def _render(self, record: Record, mask: tuple[str, ...]) -> bytes:
        if self.timestamps == "mixed":
            data = _mix_times(record.data(), record.uuid)
            return self._masked(data, mask) if mask else json.dumps(data).encode()
        if not mask:
            return record.json()
        return self._masked(record.data(), mask)

    @staticmethod
    def _masked(data: dict[str, Any], mask: tuple[str, ...]) -> bytes:
        masked: dict[str, Any] = {}
        for path in mask:
            value = resolve(data, path)
            if value is None:
                continue
            target = masked
            parts = path.split(".")
            for part in parts[:-1]:
                target = target.setdefault(part, {})
            target[parts[-1]] = value
        return encode(masked)
