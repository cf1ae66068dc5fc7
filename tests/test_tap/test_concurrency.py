"""max_concurrent_requests: windows read in parallel, emitted as one at a time would.

Against one emulator (a little latency per call, so reads really overlap), the
records of every stream, in order, and every STATE are the same at 1, 4 and 16
concurrent requests; 429s, a token revoked mid-run and SIGTERM keep working.
"""

from __future__ import annotations

import signal
from collections.abc import Callable
from typing import Any

import pytest

from tests.support.servers import ServerProcess
from tests.test_tap.tap_runner import (
    STREAMS,
    TapRun,
    assert_exported_once,
    control,
    run_tap_acting,
    run_tap_in_process,
    run_tap_past_token_lifetime,
    stats,
    tap_config,
    truth,
)

Factory = Callable[..., ServerProcess]


def what_was_emitted(run: TapRun) -> tuple[dict[str, list[dict[str, Any]]], list[dict[str, Any]]]:
    """Records per stream in order, and every state (RECORD messages' times vary)."""
    return {stream: run.records[stream] for stream in STREAMS}, run.states


def test_records_and_state_are_identical_at_1_4_and_16(emulator_factory: Factory) -> None:
    # 130 findings a scan (65 in a partial one): scans read by their context, and by uuid.
    # Hundreds of audit logs over 120 days (both stores), six scans of acme's two projects:
    # many windows and pages. 2 ms a call still overlaps reads.
    server = emulator_factory(
        "--seed", "21", "--base-latency", "0.002", "--audit-logs", "1000", "--audit-days", "120",
        "--projects", "4", "--scans-per-project", "3", "--findings-per-scan", "130",
    )  # fmt: skip
    # Small pages and windows: many windows, so several are read ahead at once.
    # One start_date for all (the state carries it).
    config = tap_config(server.url, page_size=40, window_hours=48)
    runs = {n: run_tap_in_process({**config, "max_concurrent_requests": n}) for n in (1, 4, 16)}
    for n, run in runs.items():
        assert run.returncode == 0, (n, run.stderr[-2000:])
    one = what_was_emitted(runs[1])
    # Many windows of 40-record pages (several read ahead at once), scans of many pages.
    assert len(one[0]["audit_logs"]) > 15 * 40
    assert len(one[0]["findings"]) > 4 * 130
    assert what_was_emitted(runs[4]) == one
    assert what_was_emitted(runs[16]) == one
    for stream in STREAMS:
        assert_exported_once(runs[16].uuids(stream), truth(server.url, stream))
    # The next run from that state reads nothing again, at any concurrency.
    again = run_tap_in_process({**config, "max_concurrent_requests": 16}, runs[16].final_state)
    assert again.returncode == 0, again.stderr
    # Nothing again; the windows are checked again all the same (reconciliations).
    assert not any(again.records[stream] for stream in STREAMS)


def test_child_namespaces_read_concurrently_give_the_same_partitions(
    emulator_factory: Factory,
) -> None:
    """Namespaces read ahead in parallel: the records and states of one after another."""
    children = ("platform", "security", "data", "web", "mobile")
    # Six namespaces, four of them without projects (3 projects, one each in the first
    # three): small data that still pages. 110 findings a scan are over the 100 read by
    # uuid, so each scan is read by its context, four pages of 30; acme's audit-log
    # windows take several pages. 2 ms a call still overlaps reads (each costs the tap
    # about as much CPU); most requests are fixed: windows walked per namespace.
    server = emulator_factory(
        "--seed", "22", "--base-latency", "0.002", "--audit-logs", "400",
        "--authentication-logs", "100", "--child-namespaces", ",".join(children),
        "--projects", "3", "--scans-per-project", "2", "--findings-per-scan", "110",
    )  # fmt: skip
    config = tap_config(server.url, page_size=30, window_hours=24, include_child_namespaces=True)
    runs = {n: run_tap_in_process({**config, "max_concurrent_requests": n}) for n in (1, 4, 16)}
    for n, run in runs.items():
        assert run.returncode == 0, (n, run.stderr[-2000:])
    one = what_was_emitted(runs[1])
    namespaces = ("acme", *(f"acme.{child}" for child in children))
    assert {r["tenant_meta"]["namespace"] for r in one[0]["audit_logs"]} == set(namespaces)
    assert what_was_emitted(runs[4]) == one
    assert what_was_emitted(runs[16]) == one
    for stream in STREAMS:
        assert_exported_once(runs[16].uuids(stream), truth(server.url, stream, namespaces))
    again = run_tap_in_process({**config, "max_concurrent_requests": 16}, runs[16].final_state)
    assert again.returncode == 0, again.stderr
    assert not any(again.records[stream] for stream in STREAMS)


def test_429s_under_concurrency_slow_every_worker_and_lose_nothing(
    emulator_factory: Factory,
) -> None:
    server = emulator_factory("--seed", "23", "--base-latency", "0.005", "--fault", "429:0.05")
    run = run_tap_in_process(tap_config(server.url, page_size=50, max_concurrent_requests=8))
    assert run.returncode == 0, run.stderr[-2000:]
    for stream in STREAMS:
        assert_exported_once(run.uuids(stream), truth(server.url, stream))
    assert stats(server.url)["by_status"].get("429", 0) > 0


def test_a_token_revoked_under_concurrency_is_renewed_once(emulator_factory: Factory) -> None:
    server = emulator_factory("--seed", "24", "--base-latency", "0.02", "--audit-logs", "2000")
    concurrency = 8
    run = run_tap_acting(
        tap_config(server.url, page_size=20, max_concurrent_requests=concurrency),
        lambda _: control(server.url, "expire-tokens"),
    )
    assert run.returncode == 0, run.stderr
    assert_exported_once(run.uuids("audit_logs"), truth(server.url, "audit_logs"))
    counts = stats(server.url)
    # Each request in flight may meet the revoked token once; one exchange renews it.
    assert 1 <= counts["by_status"].get("401", 0) <= concurrency + 1, counts["by_status"]
    assert counts["token_exchanges"] == 2


def test_token_expiry_mid_run_under_concurrency_renews_before_it_runs_out(
    emulator_factory: Factory,
) -> None:
    server = emulator_factory(
        "--seed", "25", "--token-ttl", "2", "--base-latency", "0.002", "--audit-logs", "600"
    )  # 600 audit logs: the run is held mid-stream (full pipe) past the lifetime
    run = run_tap_past_token_lifetime(
        tap_config(server.url, page_size=50, max_concurrent_requests=8), lifetime_seconds=2
    )
    assert run.returncode == 0, run.stderr
    assert_exported_once(run.uuids("audit_logs"), truth(server.url, "audit_logs"))
    counts = stats(server.url)
    assert counts["token_exchanges"] > 1
    assert counts["by_status"].get("401", 0) == 0, counts["by_status"]


@pytest.mark.parametrize("concurrency", [16])
def test_sigterm_under_concurrency_stops_at_a_record_boundary(
    emulator_factory: Factory, concurrency: int
) -> None:
    # 4,000 logs (~3 MB of output held unread after 300 lines): the tap is blocked
    # writing, its 16 workers reading ahead, when the signal comes.
    server = emulator_factory("--seed", "26", "--audit-logs", "4000", "--base-latency", "0.002")
    config = tap_config(server.url, page_size=20, max_concurrent_requests=concurrency)
    first = run_tap_acting(config, lambda tap: tap.send_signal(signal.SIGTERM), after=300)
    assert first.returncode == 128 + signal.SIGTERM, first.stderr[-2000:]
    assert "stopped by SIGTERM" in first.stderr
    assert "Traceback" not in first.stderr
    assert first.messages[-1]["type"] == "STATE"  # and every line whole: each was parsed

    second = run_tap_in_process(config, first.final_state)
    assert second.returncode == 0, second.stderr
    for stream in STREAMS:
        exported = set(first.uuids(stream)) | set(second.uuids(stream))
        assert exported >= {o["uuid"] for o in truth(server.url, stream)}, stream
