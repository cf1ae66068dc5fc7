"""The tap against API behaviours it does not model: every record exported, or a loud stop.

Each emulator mode plays a way of paging that lost records with exit 0 before
the tap checked each read against the API's count (issue 19).  The claim: the
records equal the emulator's truth, or the run exits 1 with one line naming
the window and no STATE passes the gap.  And the ``reconciliations`` stream
keeps its contract: each record follows the records it covers and counts them.
"""

from __future__ import annotations

import json
import subprocess
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tap_endorlabs.timestamps import normalize_timestamp
from tests.support.servers import ServerProcess
from tests.test_tap.tap_runner import (
    NAMESPACES,
    STREAMS,
    TAP,
    TapRun,
    assert_exported_once,
    parse_output,
    run_tap_in_process,
    tap_config,
    truth,
)
from tests.test_tap.test_api_variations import assert_complete, fatal_line

Factory = Callable[..., ServerProcess]


def assert_reconciled(run: TapRun) -> None:
    """Every record of a clean run is covered by the next reconciliation of its (stream, namespace).

    And ``emitted_count`` is the number of records between two reconciliations.
    """
    since: dict[tuple[str, str], int] = defaultdict(int)
    for message in run.messages:
        if message["type"] != "RECORD":
            continue
        record = message["record"]
        if message["stream"] == "reconciliations":
            key = (record["stream"], record["namespace"])
            assert record["emitted_count"] == since[key], record
            assert record["read_count"] >= record["api_count"], record
            if record["check"] == "exact":
                assert record["read_count"] == record["api_count"], record
            since[key] = 0
        else:
            since[(message["stream"], record["tenant_meta"]["namespace"])] += 1
    uncovered = {key: n for key, n in since.items() if n}
    assert not uncovered, f"records after the last reconciliation: {uncovered}"


@pytest.mark.parametrize("concurrency", [1, 4])
def test_empty_pages_with_a_token_are_not_the_end(
    emulator_factory: Factory, concurrency: int
) -> None:
    """The issue's first loss: 5 of 329 (1 at a time), 320 of 329 (4), exit 0."""
    server = emulator_factory("--seed", "31", "--paging", "empty-pages", "--audit-logs", "400")
    run = run_tap_in_process(
        tap_config(server.url, page_size=20, max_concurrent_requests=concurrency)
    )
    assert_complete(run, server.url)
    assert_reconciled(run)


def test_overlapping_pages_are_deduplicated_never_a_false_alarm(emulator_factory: Factory) -> None:
    server = emulator_factory("--seed", "32", "--paging", "overlapping", "--audit-logs", "400")
    run = run_tap_in_process(tap_config(server.url, page_size=20))
    assert_complete(run, server.url)
    assert_reconciled(run)
    assert "re-read by" not in run.stderr


def test_a_row_missing_once_from_every_kind_of_list_is_read_again(
    emulator_factory: Factory,
) -> None:
    """Windows, a scan's findings, a project, the namespaces: each list is checked."""
    server = emulator_factory("--seed", "33", "--paging", "missing-row-once")
    config = tap_config(server.url, page_size=20, include_child_namespaces=True)
    run = run_tap_in_process(config)
    assert_complete(run, server.url, NAMESPACES)
    assert_reconciled(run)
    assert "re-read by" in run.stderr


def test_a_row_never_listed_stops_the_run_with_one_line_and_no_state_past_it(
    emulator_factory: Factory,
) -> None:
    server = emulator_factory(
        "--seed", "4", "--paging", "missing-row-always", "--audit-logs", "300"
    )
    run = run_tap_in_process(tap_config(server.url, page_size=20))
    line = fatal_line(run)
    assert "audit_logs in namespace 'acme'" in line
    assert "the API counts" in line
    exported = set(run.uuids("audit_logs"))
    gone = [o for o in truth(server.url, "audit_logs") if o["uuid"] not in exported]
    assert gone
    first_gap = min(normalize_timestamp(o["meta"]["create_time"]) for o in gone)
    for state in run.states:
        bookmark = state.get("bookmarks", {}).get("audit_logs", {}).get("replication_key_value")
        assert bookmark is None or normalize_timestamp(bookmark) < first_gap, state
    # The window named is the one holding the gap.
    window = line.split("window ")[1].split(" ")[0]
    low, high = window.split("..")
    assert normalize_timestamp(low) <= first_gap < normalize_timestamp(high)


def test_an_api_clock_36_hours_behind_ours_loses_nothing_at_the_seam(
    emulator_factory: Factory,
) -> None:
    """The store and the open window follow the API's Date, and the skew is said in one line."""
    behind = datetime.now(UTC) - timedelta(hours=36)
    server = emulator_factory(
        "--seed",
        "35",
        "--now",
        behind.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "--date-header",
        "clock",
        "--audit-logs",
        "3000",
        "--audit-days",
        "40",
    )
    run = run_tap_in_process(tap_config(server.url, page_size=100))
    assert_complete(run, server.url)
    lines = [line for line in run.stderr.splitlines() if "clock is" in line]
    assert len(lines) == 1, run.stderr[-2000:]
    assert "h behind this machine's" in lines[0]
    stores = {
        m["record"]["store"]
        for m in run.messages
        if m["type"] == "RECORD" and m["stream"] == "reconciliations"
    }
    assert {"active", "archive", "both"} <= stores


def test_reconciliations_name_their_windows_and_scans(emulator_factory: Factory) -> None:
    server = emulator_factory("--seed", "36", "--audit-logs", "300")
    run = run_tap_in_process(tap_config(server.url, page_size=50))
    assert_complete(run, server.url)
    assert_reconciled(run)
    checks: list[dict[str, Any]] = run.records["reconciliations"]
    assert {c["stream"] for c in checks} == set(STREAMS)
    scans = [c for c in checks if c["stream"] == "findings"]
    assert scans
    assert all(c["scan_uuid"] and c["window_start"] is None for c in scans)
    windows = [c for c in checks if c["stream"] == "audit_logs"]
    assert all(c["window_start"] and c["window_end"] and c["scan_uuid"] is None for c in windows)
    assert windows[-1]["check"] == "at_least"
    assert all(c["meta"]["create_time"] and c["tenant_meta"]["namespace"] for c in checks)
    assert len({c["uuid"] for c in checks}) == len(checks)
    # The same read again from the same start: the same windows, the same uuids.
    again = run_tap_in_process(tap_config(server.url, page_size=50))
    assert {c["uuid"] for c in again.records["reconciliations"] if c["check"] == "exact"} >= {
        c["uuid"] for c in checks if c["check"] == "exact" and c["stream"] == "projects"
    }
    for stream in STREAMS:
        assert_exported_once(again.uuids(stream), truth(server.url, stream))


def run_with_catalog(config: dict[str, Any], deselected: str, tmp_path: Path) -> TapRun:
    """The tap with ``deselected`` left out of its discovered catalog."""
    config_path = tmp_path / "config.json"
    config_path.write_text(json.dumps(config))
    found = subprocess.run(
        [TAP, "--config", str(config_path), "--discover"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    catalog = json.loads(found.stdout)
    for entry in catalog["streams"]:
        for item in entry.get("metadata", []):
            if item.get("breadcrumb") == []:
                item.setdefault("metadata", {})["selected"] = entry["tap_stream_id"] != deselected
    catalog_path = tmp_path / "catalog.json"
    catalog_path.write_text(json.dumps(catalog))
    done = subprocess.run(
        [TAP, "--config", str(config_path), "--catalog", str(catalog_path)],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    return parse_output(done.stdout, done.returncode, done.stderr)


def test_reconciliations_deselected_are_not_written_and_the_checks_still_run(
    emulator_factory: Factory, tmp_path: Path
) -> None:
    server = emulator_factory(
        "--seed", "4", "--paging", "missing-row-always", "--audit-logs", "300"
    )
    run = run_with_catalog(tap_config(server.url, page_size=20), "reconciliations", tmp_path)
    assert "Incomplete read of audit_logs" in fatal_line(run)
    assert not any(m.get("stream") == "reconciliations" for m in run.messages)
