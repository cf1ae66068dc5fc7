"""What the proof promises and what the bucket holds, kept on disk (SQLite).

A bucket of years of exports has millions of objects and windows; a dict per
key would grow with the bucket.  SQLite (the standard library's) keeps them in
a temporary file with a small page cache, so memory stays bounded by
``CACHE_KIB`` whatever the bucket holds, and the report is a few GROUP BY
queries.

Re-exports (at-least-once) are expected: the same window (same ``uuid``) may
have several proof records from several runs, each listing its own objects.
A window counts as complete when any one of its proof records is: every object
it lists is there and holds at least the records that proof says the object
held.  Its expected and found counts are those of its best proof record, so a
window exported twice is counted once.
"""

from __future__ import annotations

import sqlite3
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

CACHE_KIB = 16 * 1024
FETCH_ROWS = 1000

SCHEMA = """
CREATE TABLE proofs (
    id INTEGER PRIMARY KEY, uuid TEXT NOT NULL, stream TEXT NOT NULL, namespace TEXT NOT NULL,
    day TEXT NOT NULL, expected INTEGER NOT NULL, api_count INTEGER, read_count INTEGER,
    exact INTEGER NOT NULL,
    source_key TEXT NOT NULL
);
CREATE TABLE parts (
    proof_id INTEGER NOT NULL, key TEXT NOT NULL, records INTEGER NOT NULL,
    object_records INTEGER NOT NULL
);
CREATE TABLE found (key TEXT PRIMARY KEY, present INTEGER NOT NULL, records INTEGER);
CREATE TABLE spans (
    uuid TEXT PRIMARY KEY, stream TEXT NOT NULL, namespace TEXT NOT NULL,
    start TEXT NOT NULL, end TEXT NOT NULL
);
"""


# Per proof record, the records found; per window uuid, its best proof record
# (complete first, then the most found): a window exported twice counts once.
BEST_PROOFS = """
        WITH proof_found AS (
            SELECT p.id, p.uuid, p.stream, p.namespace, p.day, p.expected, p.api_count,
                   coalesce(p.read_count, p.expected) AS read_count, p.exact,
                   coalesce(sum(CASE WHEN f.present = 1 AND f.records >= parts.object_records
                                     THEN parts.records ELSE 0 END), 0) AS found_records,
                   coalesce(sum(parts.records), 0) AS listed
            FROM proofs p LEFT JOIN parts ON parts.proof_id = p.id
            LEFT JOIN found f ON f.key = parts.key
            GROUP BY p.id
        ),
        ranked AS (
            SELECT *, row_number() OVER (
                PARTITION BY uuid
                ORDER BY (found_records >= expected AND listed >= expected) DESC,
                         found_records DESC, expected DESC, id DESC
            ) AS rank
            FROM proof_found
        )
        SELECT * FROM ranked WHERE rank = 1
        """


@dataclass(frozen=True)
class Row:
    """One line of the report: a stream, namespace and day."""

    stream: str
    namespace: str
    day: str
    windows: int
    expected: int
    found: int
    api_short: int  # windows checked "exact" that read fewer records than the API counted

    @property
    def missing(self) -> int:
        """Records the proof promises that the bucket does not hold."""
        return self.expected - self.found


@dataclass(frozen=True)
class Hole:
    """A span of a (stream, namespace)'s time line that no window proves."""

    stream: str
    namespace: str
    start: str
    end: str


@dataclass(frozen=True)
class MissingObject:
    """An object a complete-looking window needs but the bucket lacks (or holds short)."""

    key: str
    stream: str
    namespace: str
    day: str
    expected: int
    found: int | None  # None: not in the bucket


class Ledger:
    """The proof's windows and objects, and what was found for each object."""

    def __init__(self, directory: str | None = None) -> None:
        self._dir = tempfile.TemporaryDirectory(prefix="verify-", dir=directory)
        self._db = sqlite3.connect(Path(self._dir.name) / "ledger.sqlite")
        self._db.execute(f"PRAGMA cache_size = -{CACHE_KIB}")
        self._db.execute("PRAGMA journal_mode = OFF")
        self._db.execute("PRAGMA synchronous = OFF")
        self._db.executescript(SCHEMA)
        self._db.execute(f"CREATE VIEW best_proofs AS {BEST_PROOFS}")

    def close(self) -> None:
        """Drop the ledger file."""
        self._db.close()
        self._dir.cleanup()

    def add_window(
        self,
        *,
        uuid: str,
        stream: str,
        namespace: str,
        day: str,
        expected: int,
        api_count: int | None,
        exact: bool,
        read_count: int | None = None,
        source_key: str,
        objects: list[tuple[str, int, int]],
        span: tuple[str, str] | None = None,
    ) -> None:
        """One proof record: a window and the (key, records, object_records) holding it."""
        if span is not None:
            self._db.execute(
                "INSERT OR IGNORE INTO spans (uuid, stream, namespace, start, end)"
                " VALUES (?, ?, ?, ?, ?)",
                (uuid, stream, namespace, *span),
            )
        cursor = self._db.execute(
            "INSERT INTO proofs (uuid, stream, namespace, day, expected, api_count, read_count,"
            " exact, source_key) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (uuid, stream, namespace, day, expected, api_count, read_count, int(exact), source_key),
        )
        self._db.executemany(
            "INSERT INTO parts (proof_id, key, records, object_records) VALUES (?, ?, ?, ?)",
            [(cursor.lastrowid, key, n, total) for key, n, total in objects],
        )

    def counts(self) -> tuple[int, int]:
        """Proof records and distinct objects listed."""
        proofs = self._db.execute("SELECT count(*) FROM proofs").fetchone()[0]
        objects = self._db.execute("SELECT count(DISTINCT key) FROM parts").fetchone()[0]
        return int(proofs), int(objects)

    def objects_to_check(self) -> Iterator[tuple[str, int]]:
        """Every listed key once, in key order, with the most records any proof says it held."""
        cursor = self._db.execute(
            "SELECT key, max(object_records) FROM parts GROUP BY key ORDER BY key"
        )
        while rows := cursor.fetchmany(FETCH_ROWS):
            yield from rows

    def found(self, key: str, records: int | None) -> None:
        """What the bucket holds at ``key``: its record count, or None if it is absent."""
        self._db.execute(
            "INSERT OR REPLACE INTO found (key, present, records) VALUES (?, ?, ?)",
            (key, int(records is not None), records),
        )

    def settle(self) -> int:
        """After every object is counted: fix each window's best proof, then heal.

        A window is *healed* when its best proof is not whole (an object gone)
        but later windows of the same stream and namespace, whole themselves,
        cover its whole time span: a run that exported that time again (from an
        older state, or from scratch) cut its windows elsewhere, so they have
        other uuids, yet they hold every record the lost object held.  Returns
        how many windows were healed.
        """
        self._db.executescript(
            """
            CREATE TABLE best AS SELECT *, (found_records >= expected AND listed >= expected)
                AS whole, 0 AS healed FROM best_proofs;
            CREATE INDEX best_uuid ON best (uuid);
            CREATE INDEX spans_pair ON spans (stream, namespace, start);
            """
        )
        broken = self._db.execute(
            "SELECT s.uuid, s.stream, s.namespace, s.start, s.end FROM best b"
            " JOIN spans s ON s.uuid = b.uuid WHERE b.whole = 0"
        ).fetchall()
        healed = [uuid for uuid, *window in broken if self._covered(uuid, *window)]
        self._db.executemany("UPDATE best SET healed = 1 WHERE uuid = ?", [(u,) for u in healed])
        return len(healed)

    def _covered(self, uuid: str, stream: str, namespace: str, start: str, end: str) -> bool:
        """Whether whole windows other than ``uuid`` cover [start, end) without a gap."""
        cursor = self._db.execute(
            "SELECT s.start, s.end FROM spans s JOIN best b ON b.uuid = s.uuid"
            " WHERE s.stream = ? AND s.namespace = ? AND s.start < ? AND s.end > ?"
            " AND b.whole = 1 AND s.uuid != ? ORDER BY s.start",
            (stream, namespace, end, start, uuid),
        )
        covered = start
        for span_start, span_end in cursor:
            if span_start > covered:
                return False
            covered = max(covered, span_end)
            if covered >= end:
                return True
        return covered >= end

    def rows(self) -> list[Row]:
        """The report: per stream, namespace and day, windows and records expected and found."""
        query = """
        SELECT stream, namespace, day, count(*), sum(expected),
               sum(CASE WHEN healed = 1 THEN expected ELSE min(found_records, expected, listed)
                   END),
               sum(CASE WHEN exact = 1 AND api_count IS NOT NULL AND read_count < api_count
                        THEN 1 ELSE 0 END)
        FROM best
        GROUP BY stream, namespace, day ORDER BY stream, namespace, day
        """
        return [Row(*row) for row in self._db.execute(query)]

    def holes(self) -> Iterator[Hole]:
        """Spans between a (stream, namespace)'s first and last window that no window covers.

        The tap's windows meet exactly (and a later run starts at or before where
        the last one ended), so a hole is a window whose proof is gone, or a span
        of time never exported.  Overlaps (re-runs) are fine.
        """
        cursor = self._db.execute(
            "SELECT stream, namespace, start, end FROM spans ORDER BY stream, namespace, start"
        )
        pair: tuple[str, str] | None = None
        covered = ""
        while rows := cursor.fetchmany(FETCH_ROWS):
            for stream, namespace, start, end in rows:
                if (stream, namespace) != pair:
                    pair, covered = (stream, namespace), end
                    continue
                if start > covered:
                    yield Hole(stream, namespace, covered, start)
                covered = max(covered, end)

    def missing_objects(self) -> Iterator[MissingObject]:
        """Objects listed by a window's best proof that are absent or hold fewer records."""
        query = """
        SELECT DISTINCT parts.key, best.stream, best.namespace, best.day,
               parts.object_records, f.records
        FROM best
        JOIN parts ON parts.proof_id = best.id
        LEFT JOIN found f ON f.key = parts.key
        WHERE (f.present IS NULL OR f.present = 0 OR f.records < parts.object_records)
          AND best.healed = 0
        ORDER BY best.stream, best.namespace, best.day, parts.key
        """
        cursor = self._db.execute(query)
        while rows := cursor.fetchmany(FETCH_ROWS):
            for row in rows:
                yield MissingObject(*row)
