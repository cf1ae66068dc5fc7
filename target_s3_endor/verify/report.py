"""The ``--verify`` report: one table row per stream, namespace and day, then the gaps."""

from __future__ import annotations

from collections.abc import Iterable

from target_s3_endor.verify.ledger import Hole, MissingObject, Row


def shown(name: str) -> str:
    """A name from the proofs (the tap's stream, namespace) as a report line shows it.

    As written when it is all printable; else as ``repr``, so an escape or a line
    break in it neither reaches the terminal nor splits the report's line.
    """
    return name if name.isprintable() else repr(name)


HEADER = ("stream", "namespace", "day", "windows", "expected", "found", "missing")


def table(rows: Iterable[Row]) -> list[str]:
    """Aligned lines: the header, a row per (stream, namespace, day), the total."""
    cells: list[tuple[str, ...]] = [
        (
            shown(r.stream),
            shown(r.namespace or "-"),
            shown(r.day),
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
    where = f"{shown(missing.stream)} {shown(missing.namespace or '-')} {shown(missing.day)}"
    key = shown(missing.key)
    if missing.found is None:
        return f"MISSING  {key}  ({where}: expected {missing.expected} records)"
    return f"SHORT    {key}  ({where}: expected {missing.expected} records, found {missing.found})"


def hole_line(hole: Hole) -> str:
    """A span no window proves: a proof object gone, or time never exported."""
    return (
        f"HOLE     {shown(hole.stream)} {shown(hole.namespace or '-')} {shown(hole.start)} .. "
        f"{shown(hole.end)}: no window "
        "proves this span (a proof object deleted, or time never exported)"
    )
