"""Answers that may pass, and one the tap once took for a broken page, against the emulator.

Each test is a kind from issue 21: a record carrying a lone UTF-16 surrogate
(the tap retried its page as "truncated" and stopped every run), 504s that
shrank the windows for good (the run neither finished nor failed), bursts of
failures longer than the old per-kind try counts (4 token exchanges, 8 tries
of a page), and an API that hangs (minutes without a line).
"""

from __future__ import annotations

from collections.abc import Callable

from tests.emulator.data import CUT_EMOJI
from tests.support.emulator_client import call_json
from tests.support.servers import ServerProcess
from tests.test_tap.tap_runner import (
    NAMESPACES,
    STREAMS,
    assert_exported_once,
    run_tap_in_process,
    stats,
    tap_config,
    truth,
)

Factory = Callable[..., ServerProcess]


def test_a_string_cut_inside_an_emoji_is_carried_as_the_api_sent_it(
    emulator_factory: Factory,
) -> None:
    """Every object carries ``"cut emoji \\ud83d"``: every stream is exported, text unchanged."""
    server = emulator_factory(
        "--seed", "2", "--cut-strings", "--audit-logs", "120", "--authentication-logs", "30"
    )
    run = run_tap_in_process(tap_config(server.url, page_size=50, retry_budget_seconds=5))
    assert run.returncode == 0, run.stderr[-2000:]
    for stream in STREAMS:
        expected = truth(server.url, stream)
        assert expected, stream
        assert_exported_once(run.uuids(stream), expected)
        assert all(r["meta"]["annotations"]["note"] == CUT_EMOJI for r in run.records[stream])
    # What the tap writes: the escape the API sent (valid JSON, ASCII), never a
    # replacement character or bytes that are not UTF-8.
    records = [
        line
        for line in run.stdout.splitlines()
        if any(f'"type":"RECORD","stream":"{stream}"' in line for stream in STREAMS)
    ]
    assert len(records) == sum(len(run.records[stream]) for stream in STREAMS)
    assert all('"note":"cut emoji \\ud83d"' in line for line in records)
    assert "\ufffd" not in run.stdout
    assert "Retrying" not in run.stderr  # no page was taken for a broken one


def test_a_third_of_requests_answered_504_at_once_still_finishes(
    emulator_factory: Factory,
) -> None:
    """504s that come back long before the deadline are retried, not taken for big windows.

    They shrank the windows to one minute for good: a year read a minute at a time
    neither finished nor failed.
    """
    server = emulator_factory("--seed", "9", "--audit-logs", "300")
    config = tap_config(server.url, page_size=50, retry_budget_seconds=20, request_timeout=10)
    clean = run_tap_in_process(config)
    assert clean.returncode == 0, clean.stderr[-2000:]
    before = stats(server.url)
    call_json(server, "POST", "/_emulator/faults", {"faults": [{"type": "504", "rate": 0.3}]})
    run = run_tap_in_process(config)
    assert run.returncode == 0, run.stderr[-2000:]
    for stream in STREAMS:
        assert_exported_once(run.uuids(stream), truth(server.url, stream))
    after = stats(server.url)
    answered_504 = after["by_status"].get("504", 0)
    assert answered_504 > 20, after["by_status"]
    # Windows grew back: the faulty run needs about the clean run's windows, not
    # thousands of one-minute ones (the 504s themselves aside).
    faulty_ok = after["requests"] - before["requests"] - answered_504
    assert faulty_ok < 2 * before["requests"], (faulty_ok, before["requests"])


def test_every_request_kind_rides_out_a_burst_longer_than_its_old_try_count(
    emulator_factory: Factory,
) -> None:
    """One retry budget in time for the token exchange, the namespace listing and pages.

    Six failed token exchanges in a row (it gave up after 4, in about 2 s), nine
    resets of the namespace listing and nine 503s of one page (8 tries each).
    """
    server = emulator_factory(
        "--seed",
        "10",
        "--audit-logs",
        "100",
        "--fault",
        "500:x6:/v1/auth/api-key",
        "--fault",
        "reset:x9:/acme/namespaces",
        "--fault",
        "503:x9:/acme.platform/projects",
    )
    config = tap_config(
        server.url, include_child_namespaces=True, retry_budget_seconds=4, max_concurrent_requests=1
    )
    run = run_tap_in_process(config)
    assert run.returncode == 0, run.stderr[-2000:]
    for stream in STREAMS:
        assert_exported_once(run.uuids(stream), truth(server.url, stream, NAMESPACES))
    assert stats(server.url)["faults_injected"] == 6 + 9 + 9
    # The first blips are quiet; a burst is named, with the attempt and the time left.
    assert "Retrying the token exchange in " in run.stderr
    assert "Retrying namespaces in namespace 'acme' in " in run.stderr
    assert "after attempt 9 (HTTP 503: service unavailable)" in run.stderr
    assert "of the 4s retry budget left" in run.stderr


def test_a_third_of_requests_failing_in_mixed_ways_still_finishes(
    emulator_factory: Factory,
) -> None:
    """500, 503, 504, resets and cut bodies on 30% of requests, token exchanges included."""
    faults = []
    for kind in ("500", "503", "504", "reset", "truncate"):
        faults += ["--fault", f"{kind}:0.06", "--fault", f"{kind}:0.06:/v1/auth/api-key"]
    server = emulator_factory(
        "--seed", "11", "--audit-logs", "200", "--token-ttl", "2", "--fault-seed", "5", *faults
    )
    config = tap_config(
        server.url,
        include_child_namespaces=True,
        page_size=50,
        request_timeout=10,
        retry_budget_seconds=20,
    )
    run = run_tap_in_process(config)
    assert run.returncode == 0, run.stderr[-2000:]
    for stream in STREAMS:
        assert_exported_once(run.uuids(stream), truth(server.url, stream, NAMESPACES))
    counts = stats(server.url)
    assert counts["faults_injected"] * 5 >= counts["requests"], counts


def test_an_api_that_hangs_is_named_at_each_retry_and_ends_in_one_line(
    emulator_factory: Factory,
) -> None:
    """Every audit-log request hangs: each retry says what, why, which attempt, how long left."""
    server = emulator_factory("--seed", "12", "--fault", "slow:1:audit-logs", "--slow-delay", "30")
    config = tap_config(server.url, request_timeout=1, retry_budget_seconds=3)
    run = run_tap_in_process(config)
    assert run.returncode == 1
    assert "Traceback" not in run.stderr
    retries = [line for line in run.stderr.splitlines() if "Retrying audit_logs" in line]
    assert retries, run.stderr[-2000:]
    assert "in namespace 'acme'" in retries[0]
    assert "after attempt 1 (ReadTimeout: no answer within 2s)" in retries[0]
    assert "of the 3s retry budget left" in retries[0]
    last = run.stderr.strip().splitlines()[-1]
    assert "could not be read for audit_logs in namespace 'acme'" in last, last
    assert "no answer within 2s" in last
    assert "retry_budget_seconds: 3" in last


def test_records_at_the_ends_of_the_time_range_are_carried_and_the_next_run_goes_on(
    emulator_factory: Factory,
) -> None:
    """Audit logs at 1970-01-01T00:00:00Z and 9999-12-31T23:59:59Z (``--edge-times``).

    The second one made the bookmark 9999-12-31: the next run stopped on a
    datetime overflow, and had it not, would never have exported another record.
    """
    server = emulator_factory("--seed", "13", "--edge-times", "--audit-logs", "100")
    config = tap_config(server.url, start_date=None, page_size=50)
    first = run_tap_in_process(config)
    assert first.returncode == 0, first.stderr[-2000:]
    expected = truth(server.url, "audit_logs")
    assert_exported_once(first.uuids("audit_logs"), expected)
    times = {r["meta"]["create_time"]: r["uuid"] for r in first.records["audit_logs"]}
    assert {"1970-01-01T00:00:00Z", "9999-12-31T23:59:59Z"} <= set(times)
    bookmark = first.final_state["bookmarks"]["audit_logs"]["replication_key_value"]
    assert bookmark < "9999", bookmark

    second = run_tap_in_process(config, state=first.final_state)
    assert second.returncode == 0, second.stderr[-2000:]
    assert "Traceback" not in second.stderr
    # Only the far-future record comes again (at least once); nothing else repeats.
    assert second.uuids("audit_logs") == [times["9999-12-31T23:59:59Z"]]
