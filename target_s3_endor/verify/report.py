"""The ``--verify`` report: one table row per stream, namespace and day, then the gaps."""

from __future__ import annotations

from collections.abc import Iterable

from target_s3_endor.naming import shown_name
from target_s3_endor.verify.ledger import Hole, MissingObject, Row

HEADER = ("stream", "namespace", "day", "windows", "expected", "found", "missing")


def table(rows: Iterable[Row]) -> list[str]:
    """Aligned lines: the header, a row per (stream, namespace, day), the total."""
    cells: list[tuple[str, ...]] = [
        (
            *_place(r.stream, r.namespace, r.day),
            str(r.windows),
            str(r.expected),
            str(r.found),
            str(r.missing) + (f" ({r.api_short} below API count)" if r.api_short else ""),
        )
        for r in rows
    ]
    totals = [sum(int(c[i].split()[0]) for c in cells) for i in (3, 4, 5, 6)]
    cells.append(("total", "", "", *(str(t) for t in totals)))
    widths = [max(len(c[i]) for c in [HEADER, *cells]) for i in range(len(HEADER))]

    def line(row: tuple[str, ...]) -> str:
        left = [row[i].ljust(widths[i]) for i in (0, 1, 2)]
        right = [row[i].rjust(widths[i]) for i in (3, 4, 5, 6)]
        return "  ".join(left + right).rstrip()

    return [line(HEADER), *(line(c) for c in cells)]


def missing_line(missing: MissingObject) -> str:
    """One missing (or short) object: its key, where it belongs, what it lacks."""
    where = " ".join(_place(missing.stream, missing.namespace, missing.day))
    key = shown_name(missing.key)
    if missing.found is None:
        return f"MISSING  {key}  ({where}: expected {missing.expected} records)"
    return f"SHORT    {key}  ({where}: expected {missing.expected} records, found {missing.found})"


def hole_line(hole: Hole) -> str:
    """A span no window proves: a proof object gone, or time never exported."""
    return (
        f"HOLE     {' '.join(_place(hole.stream, hole.namespace, hole.start))} .. "
        f"{shown_name(hole.end)}: no window proves this span (a proof object deleted, or time "
        "never exported)"
    )


def _place(stream: str, namespace: str | None, when: str) -> tuple[str, str, str]:
    """Stream, namespace (``-`` for none) and day or time, as the report shows them."""
    return shown_name(stream), shown_name(namespace or "-"), shown_name(when)
