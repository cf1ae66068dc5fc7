"""The tap against the emulator's variation modes: each handled, or one line and exit 1.

Each mode plays something the official sources allow but do not promise (see
endor-api.md, "Added after a second read"): the records must equal a plain
run's, or the tap must stop at once with one line naming the problem.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest

from tests.support.servers import ServerProcess
from tests.test_tap.tap_runner import (
    NAMESPACES,
    STREAMS,
    TapRun,
    assert_exported_once,
    run_tap_in_process,
    run_tap_past_token_lifetime,
    stats,
    tap_config,
    truth,
)

Factory = Callable[..., ServerProcess]


def assert_complete(run: TapRun, url: str, namespaces: tuple[str, ...] = ("acme",)) -> None:
    assert run.returncode == 0, run.stderr[-3000:]
    for stream in STREAMS:
        assert_exported_once(run.uuids(stream), truth(url, stream, namespaces))


def fatal_line(run: TapRun) -> str:
    """The one error line of a failed run (and no traceback)."""
    assert run.returncode == 1, run.stderr[-3000:]
    assert "Traceback" not in run.stderr
    lines = [line for line in run.stderr.splitlines() if "tap-endorlabs: error:" in line]
    assert len(lines) == 1, run.stderr[-3000:]
    return lines[0]


def test_sorted_pages_without_token_are_read_whole(emulator_factory: Factory) -> None:
    """Sorted pages that carry next_page_id but no token: once read one page a window.

    The tap used to take the missing token for the end of each window and exit 0
    with a fraction of the records; now it reads by page_id without sort.
    """
    server = emulator_factory("--seed", "11", "--paging", "sorted-without-token")
    run = run_tap_in_process(tap_config(server.url, page_size=20))
    assert_complete(run, server.url)
    assert "does not page sorted lists" in run.stderr
    assert len(run.records["audit_logs"]) > 20 * 10  # many pages a window, not one


def test_sorted_pages_without_token_with_children_and_small_buffer(
    emulator_factory: Factory,
) -> None:
    """Windows the tap orders itself are halved when over the buffer, per namespace."""
    # 1,000 audit logs (~750 of acme's): far over a 100-record buffer (20 pages of 5).
    server = emulator_factory(
        "--seed", "12", "--paging", "sorted-without-token", "--audit-logs", "1000"
    )
    config = tap_config(
        server.url, page_size=5, window_hours=24 * 400, include_child_namespaces=True
    )
    run = run_tap_in_process(config)
    assert_complete(run, server.url, NAMESPACES)
    assert "Window over its buffer on audit_logs" in run.stderr
    for stream in ("audit_logs", "scan_results", "finding_logs"):
        for namespace in NAMESPACES:
            times = [
                r["meta"]["create_time"] if stream != "scan_results" else r["spec"]["end_time"]
                for r in run.records[stream]
                if r["tenant_meta"]["namespace"] == namespace
            ]
            assert times == sorted(times), (stream, namespace)


def test_a_page_token_that_does_not_advance_stops_at_once(emulator_factory: Factory) -> None:
    server = emulator_factory("--seed", "13", "--paging", "non-advancing")
    run = run_tap_in_process(tap_config(server.url, page_size=20))
    line = fatal_line(run)
    assert "audit_logs" in line
    assert "page token 20" in line
    assert "paging loop" in line
    # Stopped before the repeated page, and before emitting the window it was
    # reading (windows are verified whole before they go out): nothing twice.
    uuids = run.uuids("audit_logs")
    assert len(uuids) == len(set(uuids))


def test_slow_answers_ignoring_request_timeout_shrink_the_window(
    emulator_factory: Factory,
) -> None:
    """A server that ignores Request-Timeout meets the tap's own read time-out instead."""
    # Few rows, each dear: 100 audit logs at 4.5 ms a row (45 ms in the archive) outlast
    # the tap's own 2 s read time-out (request_timeout 1 + 1) for a window of them all,
    # and its half; a quarter answers in time. The other streams are small: at this row
    # cost they would only be slow.
    server = emulator_factory(
        "--seed", "5", "--row-cost-us", "4500", "--audit-logs", "100",
        "--authentication-logs", "20", "--findings-per-scan", "2", "--finding-logs", "10",
        "--ignore-request-timeout",
    )  # fmt: skip
    run = run_tap_in_process(tap_config(server.url, request_timeout=1, window_hours=24 * 90))
    assert_complete(run, server.url)
    # Halved twice at least, each time after the tap's own time-out.
    splits = [line for line in run.stderr.splitlines() if "Deadline exceeded on audit_logs" in line]
    assert len(splits) >= 2, run.stderr[-3000:]
    assert all("no answer within" in line for line in splits), splits
    assert stats(server.url)["by_status"].get("504", 0) == 0
    assert stats(server.url)["by_status"].get("504", 0) == 0


def test_timestamps_of_every_width_and_offset(emulator_factory: Factory) -> None:
    """0/3/6/9 digits and offsets: every record once, and a second run emits nothing."""
    server = emulator_factory("--seed", "14", "--timestamps", "mixed")
    first = run_tap_in_process(tap_config(server.url, page_size=30))
    assert_complete(first, server.url)
    served = [r["meta"]["create_time"] for r in first.records["audit_logs"]]
    assert any(t.endswith("+05:30") for t in served)
    assert any(len(t.split(".")[-1]) == 10 for t in served if "." in t and t.endswith("Z"))
    assert any("." not in t for t in served)
    second = run_tap_in_process(tap_config(server.url, page_size=30), state=first.final_state)
    assert second.returncode == 0, second.stderr[-2000:]
    assert not _counts(second), _counts(second)


@pytest.mark.parametrize("style", ["missing", "repeated", "malformed"])
def test_date_header_variations_never_crash(emulator_factory: Factory, style: str) -> None:
    """The token lifetime falls back to our clock; tokens are still renewed in time."""
    server = emulator_factory(
        "--seed",
        "15",
        "--date-header",
        style,
        "--token-ttl",
        "3",
        "--base-latency",
        "0.002",
        "--audit-logs",
        "600",
    )
    # 600 audit logs: more output than the pipe holds, so the run is held mid-stream
    # past the token's lifetime, and every later stream needs a token.
    run = run_tap_past_token_lifetime(tap_config(server.url, page_size=50), lifetime_seconds=3)
    assert_complete(run, server.url)
    counts = stats(server.url)
    assert counts["token_exchanges"] > 1
    # Renewed in time (by our clock): no request was refused with an expired token.
    assert counts["by_status"].get("401", 0) == 0, counts["by_status"]


@pytest.mark.parametrize("style", ["seconds", "http-date", "missing", "repeated", "malformed"])
def test_429_with_every_kind_of_retry_after(emulator_factory: Factory, style: str) -> None:
    # An HTTP date has whole seconds, so the emulator's "now" rounds up and each 429 is
    # waited up to 1 s in real time: at one request in five that was ~65 s of waiting
    # for the same check, at one in thirty still ~9 s. So there, exactly the first three
    # API requests are refused. Without a usable Retry-After (missing, malformed) the
    # tap's own backoff applies, 0.05-0.1 s and doubling on a repeat: one request in
    # twenty (14 here) is enough. Seconds and repeated ask for no wait: one in five.
    rate = {"http-date": "x3", "missing": "0.05", "malformed": "0.05"}.get(style, "0.2")
    server = emulator_factory(
        "--seed",
        "16",
        "--fault",
        f"429:{rate}",
        "--retry-after",
        "0",
        "--retry-after-header",
        style,
        "--audit-logs",
        "400",
    )
    run = run_tap_in_process(tap_config(server.url, page_size=100))
    assert_complete(run, server.url)
    refused = stats(server.url)["faults_by_type"].get("429", 0)
    assert refused == 3 if style == "http-date" else refused >= 3, refused


def _counts(run: TapRun) -> dict[str, int]:
    """Records per data stream (the windows checked again emit reconciliations)."""
    return {stream: len(run.records[stream]) for stream in STREAMS if run.records[stream]}


@pytest.mark.parametrize("children", [False, True], ids=["tenant", "children"])
def test_a_run_after_a_clean_run_emits_nothing(emulator: ServerProcess, children: bool) -> None:
    config = tap_config(emulator.url, include_child_namespaces=children)
    first = run_tap_in_process(config)
    assert first.returncode == 0, first.stderr[-2000:]
    second = run_tap_in_process(config, state=first.final_state)
    assert second.returncode == 0, second.stderr[-2000:]
    assert _counts(second) == {}
    # Nothing new, so the state stays as it was.
    assert second.final_state["bookmarks"] == first.final_state["bookmarks"]


def _strip_emitted(state: Any) -> Any:
    if isinstance(state, dict):
        return {k: _strip_emitted(v) for k, v in state.items() if k != "emitted_at_bookmark"}
    if isinstance(state, list):
        return [_strip_emitted(v) for v in state]
    return state


def test_old_state_without_the_emitted_list_still_works(emulator: ServerProcess) -> None:
    """A state from before ``emitted_at_bookmark``: only records at a bookmark come again."""
    config = tap_config(emulator.url)
    first = run_tap_in_process(config)
    assert first.returncode == 0, first.stderr[-2000:]
    old = _strip_emitted(first.final_state)
    second = run_tap_in_process(config, state=old)
    assert second.returncode == 0, second.stderr[-2000:]
    for stream in ("audit_logs", "scan_results", "finding_logs", "projects"):
        assert 1 <= len(second.records[stream]) <= 3, stream
        assert set(second.uuids(stream)) <= set(first.uuids(stream))
    third = run_tap_in_process(config, state=second.final_state)
    assert _counts(third) == {}


def test_after_a_crash_every_record_still_comes(emulator: ServerProcess) -> None:
    """Resuming from any STATE the first run wrote (a crash right after it) loses nothing.

    The findings bookmark names a scan only once its last finding is out, so a
    scan cut in the middle is emitted whole again.
    """
    config = tap_config(emulator.url, page_size=50)
    first = run_tap_in_process(config)
    assert first.returncode == 0, first.stderr[-2000:]
    cut = 0
    for index, message in enumerate(first.messages):
        if message["type"] == "STATE" and index > len(first.messages) // 2:
            cut = index
            break
    assert cut, "no STATE in the middle of the run"
    state = first.messages[cut]["value"]
    before: dict[str, list[str]] = {stream: [] for stream in STREAMS}
    for message in first.messages[:cut]:
        if message["type"] == "RECORD" and message["stream"] in before:
            before[message["stream"]].append(message["record"]["uuid"])
    resumed = run_tap_in_process(config, state=state)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    for stream in STREAMS:
        got = set(before[stream]) | set(resumed.uuids(stream))
        assert got == {o["uuid"] for o in truth(emulator.url, stream)}, stream
    scans = Counter(f["scan_context"]["scan_uuid"] for f in resumed.records["findings"])
    expected = {
        s["uuid"]: len(s["spec"].get("findings") or []) for s in truth(emulator.url, "scan_results")
    }
    for scan, count in scans.items():
        assert count == expected[scan], f"scan {scan} emitted in part"
