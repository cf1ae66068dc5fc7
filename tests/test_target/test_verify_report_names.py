"""``--verify``'s report lines show a name from the proofs as ``repr`` when it is not printable.

The proofs repeat the stream and namespace names the tap sent; a terminal escape or a
line break in one must neither reach the terminal nor split a report line.
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from target_s3_endor.verify.ledger import Hole, MissingObject, Row
from target_s3_endor.verify.report import hole_line, missing_line, table

NAMES = st.text(
    alphabet=st.sampled_from("a\x1b\n\r\t\u2028\u0085\x00") | st.characters(),
    min_size=1,
    max_size=8,
)


@given(NAMES, NAMES)
def test_every_report_line_is_printable_and_plain_names_stay_plain(
    stream: str, namespace: str
) -> None:
    lines = [
        *table([Row(stream, namespace, "2026-01-02", 1, 3, 2, 0)]),
        missing_line(MissingObject(f"k/{stream}", stream, namespace, "2026-01-02", 3, None)),
        missing_line(MissingObject(f"k/{stream}", stream, namespace, "2026-01-02", 3, 1)),
        hole_line(Hole(stream, namespace, "2026-01-02T00:00:00Z", "2026-01-03T00:00:00Z")),
    ]
    for line in lines:
        assert line.isprintable(), line
    expected = stream if stream.isprintable() else repr(stream)
    # The table's row (after its header; the total follows), MISSING, SHORT and HOLE.
    assert all(expected in line for line in [lines[1], *lines[-3:]]), lines
