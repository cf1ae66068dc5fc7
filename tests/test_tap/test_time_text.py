"""Times the tap writes as text are RFC 3339 at fixed width, years below 1000 included.

glibc's ``strftime("%Y")`` writes year 1 as ``1``: a ``start_date`` of year 1 gave the
``reconciliations`` record a ``window_start`` of ``1-01-01T00:00:00Z`` (not RFC 3339, and
sorted after every later year), and ``--verify``'s time line sorted it last.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from tap_endorlabs.timestamps import floor_to_second, format_second
from tap_endorlabs.window_reader import window_text
from target_s3_endor.verify.proofs import _span
from tests.support.servers import start_emulator
from tests.test_tap.tap_runner import run_tap_in_process, tap_config

RFC3339_SECOND = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")
MOMENTS = st.datetimes(timezones=st.just(UTC))


@given(first=MOMENTS, second=MOMENTS)
def test_second_text_is_rfc3339_and_sorts_as_time(first: datetime, second: datetime) -> None:
    texts = [format_second(first), format_second(second)]
    for text, moment in zip(texts, (first, second), strict=True):
        assert RFC3339_SECOND.fullmatch(text), text
        assert datetime.fromisoformat(text) == floor_to_second(moment)
    assert (texts[0] < texts[1]) == (floor_to_second(first) < floor_to_second(second))
    assert window_text(first, second) == f"{texts[0]}..{texts[1]}"


@given(first=MOMENTS, second=MOMENTS)
def test_verify_spans_sort_as_time(first: datetime, second: datetime) -> None:
    """``--verify`` orders windows by the text of their bounds."""
    spans = [
        _span({"window_start": format_second(moment), "window_end": format_second(moment)})
        for moment in (first, second)
    ]
    assert spans[0] is not None and spans[1] is not None
    assert (spans[0][0] < spans[1][0]) == (floor_to_second(first) < floor_to_second(second))


def test_a_start_date_in_year_1_gives_rfc3339_reconciliations() -> None:
    with start_emulator("--seed", "3", "--audit-logs", "50", "--projects", "2") as server:
        run = run_tap_in_process(tap_config(server.url, start_date="0001-01-01T00:00:00Z"))
    assert run.returncode == 0, run.stderr[-2000:]
    windows = [r for r in run.records["reconciliations"] if r.get("window_start")]
    assert any(r["window_start"] == "0001-01-01T00:00:00Z" for r in windows)
    for record in windows:
        for bound in (record["window_start"], record.get("window_end")):
            assert bound is None or RFC3339_SECOND.fullmatch(bound), record
