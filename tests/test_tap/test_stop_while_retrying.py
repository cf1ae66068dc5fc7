"""A stop signal while the API fails: the tap stops within seconds, not after its retry budget.

The tap's signal handler only sets ``stop_signal``; it was read once per record,
so a SIGTERM (Kubernetes) or Ctrl-C (Meltano) that came while the API was being
retried waited out ``retry_budget_seconds`` (300 s by default): before the first
record, and mid-run while the windows read ahead were retried on their threads.
Each test gives the tap a budget (and waits) far longer than the time it is
allowed to take to stop, through the real command against the real emulator.
"""

from __future__ import annotations

import json
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from singer_sdk.exceptions import RetriableAPIError

from tap_endorlabs.errors import StopRequested
from tap_endorlabs.retry import RetryPolicy
from tap_endorlabs.timestamps import normalize_timestamp
from tests.support.servers import ServerProcess
from tests.test_tap.tap_runner import (
    NAMESPACES,
    TAP,
    TapRun,
    assert_exported_once,
    control,
    is_record,
    parse_output,
    run_tap_in_process,
    stats,
    tap_config,
    truth,
)

Factory = Callable[..., ServerProcess]

#: How long a stopped tap may take to end (Kubernetes kills after 30 s); every
#: run below would otherwise go on for minutes.
STOP_WITHIN_SECONDS = 15
STOP_LINE = "stopped by {}; the last state written resumes the export"


class TapProcess:
    """The tap's command, its stdout read as it comes (so it never blocks on the pipe)."""

    def __init__(
        self, tmp: Path, config: dict[str, Any], state: dict[str, Any] | None, *args: str
    ) -> None:
        (tmp / "config.json").write_text(json.dumps(config))
        command = [TAP, "--config", str(tmp / "config.json"), *args]
        if state is not None:
            (tmp / "state.json").write_text(json.dumps(state))
            command += ["--state", str(tmp / "state.json")]
        self._stderr = (tmp / "stderr.txt").open("w+")
        self.process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=self._stderr, text=True
        )
        self.lines: list[str] = []
        self.first_record = threading.Event()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line)
            if is_record(line):
                self.first_record.set()

    def stop(self, signum: int) -> TapRun:
        """Send ``signum``; the run as it ended (fails if it did not end in time)."""
        self.process.send_signal(signum)
        try:
            self.process.wait(timeout=STOP_WITHIN_SECONDS)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise AssertionError(
                f"the tap went on for {STOP_WITHIN_SECONDS}s after {signal.Signals(signum).name}"
            ) from None
        finally:
            self._reader.join(timeout=30)
        self._stderr.seek(0)
        stderr = self._stderr.read()
        self._stderr.close()
        return parse_output("".join(self.lines), self.process.returncode, stderr)


def wait_until(
    condition: Callable[[], bool], what: str, tap: TapProcess, timeout: float = 60
) -> None:
    """Poll ``condition`` until it holds (the tap must still run meanwhile)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        assert tap.process.poll() is None, f"the tap ended before {what}"
        time.sleep(0.02)
    raise AssertionError(f"no {what} within {timeout}s")


def assert_stopped_as_a_stop_ends(run: TapRun, signum: int) -> None:
    name = signal.Signals(signum).name
    assert run.returncode == 128 + signum, run.stderr[-2000:]
    assert "Traceback" not in run.stderr
    last = [line for line in run.stderr.splitlines() if line.strip()][-1]
    assert STOP_LINE.format(name) in last, run.stderr[-2000:]
    assert run.messages[-1]["type"] == "STATE"  # and every line whole: each was parsed


@pytest.mark.parametrize(
    ("signum", "fault"),
    [
        # The preflight probe told to come back in 100 s (Retry-After), every time.
        pytest.param(signal.SIGTERM, "429:1.0:/audit-logs", id="SIGTERM-in-a-Retry-After"),
        # The preflight probe's answer held back 100 s (within request_timeout).
        pytest.param(signal.SIGTERM, "slow:1.0:/audit-logs", id="SIGTERM-in-a-hung-request"),
        # Meltano's Ctrl-C while the token exchange fails.
        pytest.param(signal.SIGINT, "503:1.0:/v1/auth/api-key", id="SIGINT-in-token-retries"),
    ],
)
def test_a_stop_before_the_first_record_ends_the_retries_and_writes_the_state_given(
    emulator_factory: Factory, tmp_path: Path, signum: int, fault: str
) -> None:
    server = emulator_factory(
        "--seed", "31", "--fault", fault, "--retry-after", "100", "--slow-delay", "100"
    )
    bookmark = "2026-01-01T00:00:00.000000Z"
    state = {
        "bookmarks": {
            "audit_logs": {"replication_key": "meta.create_time", "replication_key_value": bookmark}
        }
    }
    config = tap_config(server.url, retry_budget_seconds=600, request_timeout=200)
    tap = TapProcess(tmp_path, config, state)
    wait_until(lambda: stats(server.url)["faults_injected"] >= 1, "failed request", tap)
    failed_before = stats(server.url)["faults_injected"]
    run = tap.stop(signum)

    assert_stopped_as_a_stop_ends(run, signum)
    assert not run.records
    audit = run.final_state["bookmarks"]["audit_logs"]
    assert normalize_timestamp(audit["replication_key_value"]) == bookmark
    # No attempt starts after the stop (one may have been on its way).
    assert stats(server.url)["faults_injected"] <= failed_before + 1


def test_a_stop_during_the_connection_test_ends_its_retries(
    emulator_factory: Factory, tmp_path: Path
) -> None:
    """``--test`` runs the same preflight: a stop in its 100 s Retry-After ends it at once."""
    server = emulator_factory(
        "--seed", "34", "--fault", "429:1.0:/audit-logs", "--retry-after", "100"
    )
    config = tap_config(server.url, retry_budget_seconds=600)
    tap = TapProcess(tmp_path, config, None, "--test")
    wait_until(lambda: stats(server.url)["faults_injected"] >= 1, "failed request", tap)
    run = tap.stop(signal.SIGTERM)
    assert run.returncode == 128 + signal.SIGTERM, run.stderr[-2000:]
    assert "Traceback" not in run.stderr
    last = run.stderr.strip().splitlines()[-1]
    assert last == "tap-endorlabs: stopped by SIGTERM; the connection test did not finish"
    assert "Connection test passed" not in run.stderr


def test_a_stop_while_windows_read_ahead_are_retried_emits_no_part_of_them(
    emulator_factory: Factory, tmp_path: Path
) -> None:
    """The API fails mid-run; the tap's workers retry windows it has not emitted yet."""
    server = emulator_factory("--seed", "32", "--audit-logs", "3000", "--base-latency", "0.005")
    config = tap_config(
        server.url, page_size=20, max_concurrent_requests=4, retry_budget_seconds=600
    )
    tap = TapProcess(tmp_path, config, None)
    assert tap.first_record.wait(timeout=120), "no record came"
    control(server.url, "faults", {"faults": [{"type": "503", "rate": 1.0}]})
    wait_until(lambda: stats(server.url)["faults_injected"] >= 12, "retried windows", tap)
    first = tap.stop(signal.SIGTERM)

    assert_stopped_as_a_stop_ends(first, signal.SIGTERM)
    emitted = first.records["audit_logs"]
    assert emitted
    # What came out is the oldest records, in order, window after whole window: each
    # record lies in a window whose reconciliation (its count, checked) came out too.
    expected = sorted(
        truth(server.url, "audit_logs"),
        key=lambda o: (normalize_timestamp(o["meta"]["create_time"]), o["uuid"]),
    )
    assert first.uuids("audit_logs") == [o["uuid"] for o in expected[: len(emitted)]]
    checks = [r for r in first.records["reconciliations"] if r["stream"] == "audit_logs"]
    assert sum(check["read_count"] for check in checks) == len(emitted)

    control(server.url, "faults", {"faults": []})
    # The rest in pages of 500: small pages only made the first run long enough to stop.
    second = run_tap_in_process({**config, "page_size": 500}, first.final_state)
    assert second.returncode == 0, second.stderr[-2000:]
    assert_exported_once(first.uuids("audit_logs") + second.uuids("audit_logs"), expected)


def test_a_stop_ends_a_retry_wait_at_once_and_starts_no_attempt() -> None:
    """In process: the policy's wait (a 100 s Retry-After) ends once ``stopping`` says so."""

    class Answer:
        headers = {"Retry-After": "100"}

    looks = [0]
    attempts: list[float] = []

    def stopping() -> int | None:
        # Asked to stop at the 6th look: a few slices into the wait after attempt 1.
        looks[0] += 1
        return signal.SIGTERM if looks[0] >= 6 else None

    def call() -> None:
        attempts.append(time.monotonic())
        raise RetriableAPIError("HTTP 429: too many requests", Answer())  # type: ignore[arg-type]

    policy = RetryPolicy(budget_seconds=600, stopping=stopping)
    with pytest.raises(StopRequested) as stopped:
        policy.run(call, retriable=(RetriableAPIError,), what="audit_logs")
    assert stopped.value.signum == signal.SIGTERM
    assert len(attempts) == 1
    assert time.monotonic() - attempts[0] < 5  # not the 100 s asked for

    with pytest.raises(StopRequested):
        policy.run(call, retriable=(RetriableAPIError,), what="audit_logs")
    assert len(attempts) == 1  # no attempt starts once stopping
    with pytest.raises(StopRequested):
        policy.pause(100)


def test_a_stop_while_namespaces_read_ahead_are_retried_ends_at_once(
    emulator_factory: Factory, tmp_path: Path
) -> None:
    """The next namespaces are read on their own threads (``partitions_ahead``): they stop too."""
    server = emulator_factory("--seed", "33", "--audit-logs", "3000", "--base-latency", "0.005")
    config = tap_config(
        server.url,
        page_size=20,
        max_concurrent_requests=4,
        include_child_namespaces=True,
        retry_budget_seconds=600,
    )
    tap = TapProcess(tmp_path, config, None)
    assert tap.first_record.wait(timeout=120), "no record came"
    control(server.url, "faults", {"faults": [{"type": "503", "rate": 1.0}]})
    wait_until(lambda: stats(server.url)["faults_injected"] >= 12, "retried reads", tap)
    first = tap.stop(signal.SIGTERM)

    assert_stopped_as_a_stop_ends(first, signal.SIGTERM)
    control(server.url, "faults", {"faults": []})
    # The rest in pages of 500: small pages only made the first run long enough to stop.
    second = run_tap_in_process({**config, "page_size": 500}, first.final_state)
    assert second.returncode == 0, second.stderr[-2000:]
    for stream in ("audit_logs", "projects"):
        assert_exported_once(
            first.uuids(stream) + second.uuids(stream), truth(server.url, stream, NAMESPACES)
        )
