"""The ``reconciliations`` records: each window or scan read, checked against the API's count.

The tap emits one after the records it covers and before any STATE that
passes them.  The contract a target builds on (issue 19):

- a reconciliation record covers exactly the records of ``stream`` for
  ``namespace`` that the tap emitted after the previous reconciliation record
  of the same (stream, namespace) in this run, and before it;
  ``emitted_count`` is their number;
- ``uuid`` is a hash of stream, namespace, store, window (or scan), so a
  window reconciled again by a later run keeps its identity;
- ``meta.create_time`` (window end, else the check's time) and
  ``tenant_meta.namespace`` let any target partition it like the data.

Reads that are not time windows (a scan's findings, the namespaces listed, the
project a scan belongs to) are verified here too (``verified_objects``): the
same query counted by the API, the objects read again by another route on a
shortfall, the run stopped with one line if it persists.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from tap_endorlabs.errors import IncompleteWindowError
from tap_endorlabs.pagination import ListQuery
from tap_endorlabs.timestamps import format_second, normalize_or
from tap_endorlabs.window_reader import Reconciliation, dotted_get

if TYPE_CHECKING:
    from tap_endorlabs.api import EndorApi, Subject

STREAM_NAME = "reconciliations"

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ScanReconciliation:
    """A scan's findings read and checked against the API's count of the queries used."""

    scan_uuid: str
    api_count: int
    read_count: int
    checked_at: datetime


@dataclass
class FindingsTally:
    """A scan's findings as its queries were checked: the API's counts and what was read."""

    api_count: int = 0
    read_count: int = 0


@dataclass
class EmittedSince:
    """The records a stream emitted since its last reconciliation record (per namespace)."""

    time_field: str
    count: int = 0
    first_time: str | None = None
    last_time: str | None = None

    def add(self, record: dict[str, Any]) -> None:
        """Count one emitted record and widen the time span by its time."""
        self.count += 1
        moment = normalize_or(dotted_get(record, self.time_field), "")
        if not moment:
            return
        if self.first_time is None or moment < self.first_time:
            self.first_time = moment
        if self.last_time is None or moment > self.last_time:
            self.last_time = moment

    def reset(self) -> None:
        """Start counting for the next reconciliation record."""
        self.count, self.first_time, self.last_time = 0, None, None


def record_uuid(stream: str, namespace: str, store: str | None, start: str, end: str) -> str:
    """Deterministic uuid (version-5 style hex) of one reconciled window or scan."""
    text = "\x1f".join((stream, namespace, store or "", start, end))
    digest = hashlib.sha256(text.encode()).hexdigest()
    return f"{digest[:8]}-{digest[8:12]}-5{digest[13:16]}-{digest[16:20]}-{digest[20:32]}"


def _text(moment: datetime | None) -> str | None:
    return format_second(moment) if moment is not None else None


def store_name(sources: tuple[str, ...], has_archive: bool) -> str | None:
    """The store named in a reconciliation: active, archive or both; None without an archive."""
    if not has_archive:
        return None
    return "both" if len(sources) > 1 else sources[0]


def reconciliation_record(
    stream: str,
    namespace: str,
    checked: Reconciliation | ScanReconciliation,
    emitted: EmittedSince,
    *,
    has_archive: bool = False,
) -> dict[str, Any]:
    """The ``reconciliations`` record of one checked window or scan."""
    checked_at = _text(checked.checked_at)
    assert checked_at is not None
    base: dict[str, Any] = {
        "stream": stream,
        "namespace": namespace,
        "api_count": checked.api_count,
        "read_count": checked.read_count,
        "emitted_count": emitted.count,
        "first_record_time": emitted.first_time,
        "last_record_time": emitted.last_time,
        "checked_at": checked_at,
        "tenant_meta": {"namespace": namespace},
    }
    if isinstance(checked, ScanReconciliation):
        return {
            "uuid": record_uuid(stream, namespace, None, "scan", checked.scan_uuid),
            **base,
            "store": None,
            "window_start": None,
            "window_end": None,
            "scan_uuid": checked.scan_uuid,
            "check": "exact",
            "meta": {"create_time": checked_at},
        }
    start = _text(checked.lo)
    end = _text(checked.hi)
    assert start is not None
    store = store_name(checked.sources, has_archive)
    return {
        "uuid": record_uuid(stream, namespace, store, start, end or "open"),
        **base,
        "store": store,
        "window_start": start,
        "window_end": end or checked_at,
        "scan_uuid": None,
        "check": checked.check,
        "meta": {"create_time": end or checked_at},
    }


@dataclass(frozen=True)
class VerifiedList:
    """A list query's objects (distinct by uuid) and the API's count of the same query."""

    objects: list[dict[str, Any]]
    api_count: int


def verified_objects(api: EndorApi, query: ListQuery, subject: Subject) -> VerifiedList:
    """Every object of ``query``, once, checked against the API's count of the same query.

    Counted before the read (a record that appears meanwhile is extra, never a
    false alarm); on a shortfall read again without sort by ``page_id``, then in
    pages a quarter the size; still short, the run stops with one line.

    Raises:
        IncompleteWindowError: fewer objects than the API counts, by every route.
    """
    expected = api.count(query, subject=subject)
    found: dict[str, dict[str, Any]] = {}

    def read(route: ListQuery) -> None:
        for objects in api.iter_pages(route, subject=subject):
            for obj in objects:
                found.setdefault(str(obj.get("uuid")), obj)

    read(query)
    tried: list[str] = []
    for name, route in _routes(query):
        if len(found) >= expected:
            break
        tried.append(name)
        read(route)
        expected = api.count(query, subject=subject)
    if len(found) < expected:
        what = f"query {query.filter!r}" if query.filter else "listing"
        routes = f" (re-read by {', '.join(tried)})" if tried else ""
        msg = (
            f"Incomplete read of {subject.stream} in namespace {subject.namespace!r}, "
            f"{what}: the API counts {expected} records, the tap read {len(found)}{routes}. "
            "Stopped before emitting them: no state passes them, and the next run reads "
            "them again."
        )
        raise IncompleteWindowError(msg)
    if tried:
        _log.warning(
            "%s in namespace %r: re-read by %s to find every record the API counts (%d)",
            subject.stream,
            subject.namespace,
            ", then ".join(tried),
            expected,
        )
    return VerifiedList(list(found.values()), expected)


def _routes(query: ListQuery) -> Iterator[tuple[str, ListQuery]]:
    yield "page_id without sort", query.unsorted()
    yield "smaller pages", replace(query.unsorted(), page_size=max(1, query.page_size // 4))
