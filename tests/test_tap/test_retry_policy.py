"""The retry policy, the body decoder and the writer, in process (no HTTP: pure rules).

The emulator tests (``test_api_patience.py``) show each rule in a real run;
these state the invariants over generated inputs.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st
from singer_sdk.exceptions import RetriableAPIError
from singer_sdk.singerlib import RecordMessage, StateMessage

from tap_endorlabs.api import RETRIABLE, decode_body
from tap_endorlabs.output import BufferedMsgSpecWriter
from tap_endorlabs.progress import ReadProgress
from tap_endorlabs.retry import BASE_WAIT_SECONDS, GaveUp, RetryPolicy
from tap_endorlabs.windows import WindowPlanner

#: Any text, lone UTF-16 surrogates included (Hypothesis leaves them out by default).
TEXT = st.text(st.characters(categories=["Cs"]) | st.characters(), max_size=12)
T0 = datetime(2025, 1, 1, tzinfo=UTC)


@given(TEXT)
def test_any_json_string_the_api_may_send_is_decoded_as_sent(text: str) -> None:
    body = json.dumps({"objects": [{"meta": {"name": text}}]}, ensure_ascii=True).encode()
    assert decode_body(body) == {"objects": [{"meta": {"name": text}}]}


@given(TEXT, st.data())
def test_a_body_cut_short_is_still_an_error_that_is_retried(text: str, data: st.DataObject) -> None:
    body = json.dumps({"objects": [{"meta": {"name": text}}]}).encode()
    cut = data.draw(st.integers(min_value=0, max_value=len(body) - 1))
    with pytest.raises(msgspec.DecodeError) as raised:
        decode_body(body[:cut])
    assert isinstance(raised.value, RETRIABLE)


@given(TEXT)
def test_the_writer_writes_every_string_as_valid_json_that_reads_back_the_same(
    text: str,
) -> None:
    writer = BufferedMsgSpecWriter()
    written = bytearray()
    writer.flush = lambda: (written.extend(writer._pending), writer._pending.clear())  # type: ignore[method-assign]
    writer.write_message(RecordMessage(stream="s", record={"uuid": "u", "name": text}))
    writer.write_message(StateMessage(value={"note": text}))
    lines = [line.decode("utf-8") for line in bytes(written).split(b"\n")[:-1]]
    assert json.loads(lines[0])["record"]["name"] == text
    assert json.loads(lines[1])["value"]["note"] == text
    if any(0xD800 <= ord(char) <= 0xDFFF for char in text):
        assert lines[0].isascii()  # the escape, as the API sent it


def test_waits_double_up_to_a_tenth_of_the_budget_and_retry_after_wins() -> None:
    waits = RetryPolicy(budget_seconds=4).waits()()
    next(waits)
    planned = [waits.send(RuntimeError()) for _ in range(6)]
    ceilings = [BASE_WAIT_SECONDS * 2**n for n in range(3)] + [0.4] * 3
    # Jittered between half and all of the planned wait, so workers do not retry in step.
    assert all(
        ceiling / 2 <= wait <= ceiling for wait, ceiling in zip(planned, ceilings, strict=True)
    )

    class Answer:
        headers = {"Retry-After": "2"}

    assert waits.send(RetriableAPIError("HTTP 429", Answer())) == 2  # type: ignore[arg-type]
    assert RetryPolicy(budget_seconds=3600).max_wait == 30


def test_retries_are_quiet_for_a_blip_then_named_and_stop_at_the_budget(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="retry-test")
    policy = RetryPolicy(budget_seconds=0.5, logger=logging.getLogger("retry-test"))
    failures: list[int] = []

    def call() -> None:
        failures.append(1)
        raise RetriableAPIError("HTTP 503: service unavailable")

    gave: list[GaveUp] = []
    with pytest.raises(RetriableAPIError):
        policy.run(
            call,
            retriable=(RetriableAPIError,),
            what="audit_logs in namespace 'acme'",
            on_give_up=lambda _, given_up: gave.append(given_up),
        )
    assert len(failures) >= 4  # 0.1 + 0.2 + 0.4 (a tenth of 0.5: 0.05 each) fit in 0.5 s
    lines = [(r.levelno, r.getMessage()) for r in caplog.records]
    assert [level for level, _ in lines[:2]] == [logging.DEBUG, logging.DEBUG]
    assert all(level == logging.WARNING for level, _ in lines[2:])
    assert lines[2][1].startswith("Retrying audit_logs in namespace 'acme' in ")
    assert "after attempt 3 (HTTP 503: service unavailable)" in lines[2][1]
    assert lines[2][1].endswith("of the 0.5s retry budget left")
    assert gave and gave[0].attempts == len(failures)
    assert gave[0].elapsed >= 0.5
    assert "(retry_budget_seconds: 0.5)" in gave[0].text()


def test_a_split_that_teaches_nothing_lets_the_next_good_window_grow_back() -> None:
    planner = WindowPlanner(start=T0, end=None, size=timedelta(days=8), now=T0 + timedelta(days=99))
    planner.split(T0, learn=False)
    assert planner.size == timedelta(days=4)
    _, hi = planner.current()
    assert hi is not None
    planner.done(hi, cheap=True)
    assert planner.size == timedelta(days=8)


def test_without_a_start_progress_is_measured_from_the_first_record(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """From 1970 a read of the last ten days said "99.97% of 1970-01-01..now, about 0s left"."""
    now = [0.0]
    caplog.set_level(logging.INFO, logger="progress-test")
    progress = ReadProgress(
        stream="audit_logs",
        namespace="acme",
        start=None,
        end=T0 + timedelta(days=10),
        interval=10,
        clock=lambda: now[0],
        logger=logging.getLogger("progress-test"),
        position_of=lambda record: record["t"],
    )
    progress.begin()
    records: list[dict[str, Any]] = [
        {"t": (T0 + timedelta(days=day)).strftime("%Y-%m-%dT%H:%M:%SZ")} for day in range(6)
    ]
    for record in records:
        now[0] += 2
        progress.record(record)
    lines = [r.getMessage() for r in caplog.records]
    assert "from its oldest record (no start_date)" in lines[0]
    assert "40.0% of 2025-01-01T00:00:00Z..2025-01-11T00:00:00Z" in lines[1]
    assert "about 15s left" in lines[1]
