"""Objects the emulator serves, kept in uuid order (= creation order) per resource.

One ``Table`` per resource holds every namespace's objects in a single list
ordered by uuid, with a parallel list of creation times so that time-bound
queries bisect instead of scanning. Uuids are minted so that uuid order and
``meta.create_time`` order agree (as Endor's ObjectId-style uuids roughly do),
so the default list order, ``page_id`` paging and the time index are one order.
Each object's JSON is encoded once and cached until the object changes.
"""

from __future__ import annotations

import bisect
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from tests.emulator.filters import resolve

try:  # msgspec comes with singer-sdk[msgspec]; json is the fallback.
    import msgspec

    _encode = msgspec.json.encode
    _decode = msgspec.json.decode
except ImportError:  # pragma: no cover

    def _encode(obj: Any) -> bytes:
        return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()

    _decode = json.loads


# The resources generated from the seed (their order fixes the generator's RNG use).
DATA_RESOURCES = ("audit-logs", "findings", "projects", "scan-results", "finding-logs")
# Authentication logs came later and draw from their own RNG (not in DATA_RESOURCES).
AUTH_LOGS = "authentication-logs"
# ``namespaces``: a namespace object is stored under its parent's full name, so
# listing a namespace's ``namespaces`` gives its children (descendants with traverse).
RESOURCES = (*DATA_RESOURCES, "namespaces", AUTH_LOGS)
ARCHIVE_AFTER_US = 30 * 86400 * 1_000_000


def encode(obj: Any) -> bytes:
    """Compact JSON, as the API sends it.

    A string holding a lone UTF-16 surrogate (``--cut-strings``) has no UTF-8
    form: it goes out as the ``\\ud83d`` escape, as a backend that cuts strings
    by UTF-16 units serves it.
    """
    try:
        return _encode(obj)
    except UnicodeEncodeError:
        return json.dumps(obj, separators=(",", ":"), ensure_ascii=True).encode()


def decode(data: bytes) -> Any:
    """An object's JSON read back (lone surrogate escapes too, see ``encode``)."""
    try:
        return _decode(data)
    except ValueError:
        return json.loads(data)


@dataclass(slots=True)
class Record:
    """One served object with the fields the indexes need pulled out.

    Mutable objects (scans, projects) keep their dict; audit logs, which are
    never updated and may number hundreds of thousands, keep only their JSON
    (``frozen``) and are decoded on the rare occasions a filter needs them.
    """

    uuid: str
    namespace: str
    create_us: int
    obj: dict[str, Any] | None
    _json: bytes | None = None

    @classmethod
    def frozen(cls, uuid: str, namespace: str, create_us: int, obj: dict[str, Any]) -> Record:
        """A record stored as JSON only (never modified later)."""
        return cls(uuid, namespace, create_us, None, encode(obj))

    def json(self) -> bytes:
        """The object's JSON, encoded once."""
        if self._json is None:
            self._json = encode(self.obj)
        return self._json

    def data(self) -> dict[str, Any]:
        """The object as a dict (decoded anew for JSON-only records: do not modify)."""
        if self.obj is not None:
            return self.obj
        decoded: dict[str, Any] = decode(self.json())
        return decoded

    def changed(self) -> None:
        """Drop the cached JSON after the object was modified in place."""
        self._json = None


@dataclass
class Table:
    """All objects of one resource, in uuid order, with a creation-time index."""

    records: list[Record] = field(default_factory=list)
    uuids: list[str] = field(default_factory=list)
    create_us: list[int] = field(default_factory=list)
    by_uuid: dict[str, Record] = field(default_factory=dict)
    namespace_times: dict[str, list[int]] = field(default_factory=dict)
    #: Lazily built ``path -> value -> records`` (table order); dropped on any change.
    _indexes: dict[str, dict[str, list[Record]]] = field(default_factory=dict)

    def append(self, record: Record) -> None:
        """Add a record; it must sort after every record already held."""
        if self.uuids and record.uuid <= self.uuids[-1]:
            raise ValueError(f"uuid {record.uuid} out of order after {self.uuids[-1]}")
        if self.create_us and record.create_us < self.create_us[-1]:
            raise ValueError("create_time out of order")
        self._indexes.clear()
        self.records.append(record)
        self.uuids.append(record.uuid)
        self.create_us.append(record.create_us)
        self.by_uuid[record.uuid] = record
        self.namespace_times.setdefault(record.namespace, []).append(record.create_us)

    def insert(self, record: Record) -> None:
        """Add a record anywhere in time: backdated data (``add-namespace``).

        The table stays ordered by ``(create_time, uuid)``, which is what ``append``
        keeps too, so the time index, paging and the default order still hold.
        """
        if not self.records or (record.create_us, record.uuid) > (
            self.create_us[-1],
            self.uuids[-1],
        ):
            self.append(record)
            return
        index = bisect.bisect_right(self.create_us, record.create_us)
        while index > 0 and self.create_us[index - 1] == record.create_us:
            if self.uuids[index - 1] < record.uuid:
                break
            index -= 1
        self._indexes.clear()
        self.records.insert(index, record)
        self.uuids.insert(index, record.uuid)
        self.create_us.insert(index, record.create_us)
        self.by_uuid[record.uuid] = record
        bisect.insort(self.namespace_times.setdefault(record.namespace, []), record.create_us)

    def with_values(self, path: str, values: frozenset[str]) -> list[Record]:
        """The records whose ``path`` (a string, or strings in a list) is one of ``values``.

        In table order.  ``uuid`` is looked up directly; any other path is indexed
        on first use (decoding JSON-only records once) until the table changes:
        what the real API answers from its indexes costs the emulator no scan either.
        """
        if path == "uuid":
            found = [self.by_uuid[value] for value in values if value in self.by_uuid]
            return sorted(found, key=_table_order)
        index = self._indexes.get(path)
        if index is None:
            index = self._indexes[path] = self._build_index(path)
        if len(values) == 1:
            return index.get(next(iter(values)), [])
        hits = {id(r): r for value in values for r in index.get(value, ())}
        return sorted(hits.values(), key=_table_order)

    def _build_index(self, path: str) -> dict[str, list[Record]]:
        index: dict[str, list[Record]] = {}
        for record in self.records:
            value = resolve(record.data(), path)
            for one in value if isinstance(value, list) else [value]:
                if isinstance(one, str):
                    bucket = index.setdefault(one, [])
                    if not bucket or bucket[-1] is not record:
                        bucket.append(record)
        return index

    def clear_indexes(self) -> None:
        """Forget the value indexes (an object changed in place)."""
        self._indexes.clear()

    def index_after(self, uuid: str, lo: int, hi: int) -> int:
        """Where a ``page_id`` page resumes: just after the record ``uuid``.

        Found by the record's time, because backdated inserts can leave uuids out
        of order across a second; an unknown uuid falls back to uuid order.
        """
        record = self.by_uuid.get(uuid)
        if record is None:
            return max(lo, bisect.bisect_right(self.uuids, uuid, lo, hi))
        index = bisect.bisect_left(self.create_us, record.create_us, lo, hi)
        while index < hi and self.create_us[index] == record.create_us:
            index += 1
            if self.uuids[index - 1] == uuid:
                return index
        return max(lo, index)

    def span(self, low_us: int | None, high_us: int | None) -> tuple[int, int]:
        """Index range of records with ``low_us <= create < high_us``."""
        lo = 0 if low_us is None else bisect.bisect_left(self.create_us, low_us)
        hi = len(self.records) if high_us is None else bisect.bisect_left(self.create_us, high_us)
        return lo, max(lo, hi)

    def count_in(self, namespaces: frozenset[str], low_us: int | None, high_us: int | None) -> int:
        """How many records of these namespaces fall in a time range (the cost model's rows)."""
        total = 0
        for namespace in namespaces:
            times = self.namespace_times.get(namespace)
            if not times:
                continue
            lo = 0 if low_us is None else bisect.bisect_left(times, low_us)
            hi = len(times) if high_us is None else bisect.bisect_left(times, high_us)
            total += max(0, hi - lo)
        return total

    def __iter__(self) -> Iterator[Record]:
        return iter(self.records)


class Store:
    """Every table, a version that changes with the data, and the lock guarding both."""

    def __init__(self) -> None:
        self.tables: dict[str, Table] = {name: Table() for name in RESOURCES}
        self.lock = threading.RLock()
        self.version = 0

    def add(self, resource: str, record: Record) -> None:
        """Append a record (callers hold ``lock`` when the server is running)."""
        self.tables[resource].append(record)
        self.version += 1

    def insert(self, resource: str, record: Record) -> None:
        """Add a record at its place in time (callers hold ``lock``)."""
        self.tables[resource].insert(record)
        self.version += 1

    def touched(self) -> None:
        """Note an in-place change so cached query results and value indexes are dropped."""
        self.version += 1
        for table in self.tables.values():
            table.clear_indexes()


def _table_order(record: Record) -> tuple[int, str]:
    """Where a record stands in its table: creation time, then uuid."""
    return (record.create_us, record.uuid)
