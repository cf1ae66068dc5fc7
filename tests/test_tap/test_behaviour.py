"""The tap against a real emulator process: increments, seam, faults, tokens, errors."""

from __future__ import annotations

import json
import signal
import subprocess
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import jsonschema
import pytest

from tap_endorlabs.schema_gen import DEFAULT_REFERENCE_DIR
from tap_endorlabs.windows import normalize_timestamp
from tests.support.servers import ServerProcess
from tests.test_tap.tap_runner import (
    NAMESPACES,
    STREAMS,
    TAP,
    assert_exported_once,
    control,
    run_tap,
    run_tap_acting,
    run_tap_in_process,
    run_tap_past_token_lifetime,
    stats,
    tap_config,
    truth,
)

Factory = Callable[..., ServerProcess]


def test_full_run_exports_every_object_once(emulator: ServerProcess) -> None:
    run = run_tap_in_process(tap_config(emulator.url))
    assert run.returncode == 0, run.stderr
    for stream in STREAMS:
        assert_exported_once(run.uuids(stream), truth(emulator.url, stream))
    times = [normalize_timestamp(r["meta"]["create_time"]) for r in run.records["audit_logs"]]
    assert times == sorted(times)
    # reconciliations has no bookmark of its own: the SDK keeps an empty entry for it.
    assert set(run.final_state["bookmarks"]) - {"reconciliations"} == set(STREAMS)


def test_first_run_exports_every_project_whatever_the_start_date(emulator: ServerProcess) -> None:
    """Projects are reference data: a recent start_date must not hide older projects."""
    recent = (datetime.now(UTC) - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    run = run_tap_in_process(tap_config(emulator.url, start_date=recent))
    assert run.returncode == 0, run.stderr
    projects = truth(emulator.url, "projects")
    assert any(normalize_timestamp(p["meta"]["update_time"]) < recent for p in projects)
    assert_exported_once(run.uuids("projects"), projects)
    assert all(
        normalize_timestamp(r["meta"]["create_time"]) >= normalize_timestamp(recent)
        for r in run.records["audit_logs"]
    )


def test_archive_seam_no_gap_no_duplicate(emulator: ServerProcess) -> None:
    """Audit logs span 90 days: the old part comes from the archive, the rest from active."""
    # The session emulator's counters add up across tests: count this run's requests only.
    before = stats(emulator.url)["by_path"]
    run = run_tap_in_process(tap_config(emulator.url))
    after = stats(emulator.url)["by_path"]
    assert run.returncode == 0, run.stderr
    expected = truth(emulator.url, "audit_logs")
    oldest = min(normalize_timestamp(o["meta"]["create_time"]) for o in expected)
    assert oldest < normalize_timestamp((datetime.now(UTC) - timedelta(days=45)).isoformat())
    assert_exported_once(run.uuids("audit_logs"), expected)
    for path in ("/v1/namespaces/acme/audit-logs/archived", "/v1/namespaces/acme/audit-logs"):
        assert after.get(path, 0) - before.get(path, 0) > 0, path


def test_only_the_seam_is_merged_and_it_is_halved_when_over_its_buffer(
    emulator_factory: Factory,
) -> None:
    """Windows are cut at the seam's margins; only its two days are merged in memory.

    A 400-day window would straddle the seam and be merged whole. Cut at the
    margins, only the two days around the boundary are read from both stores:
    with ~94 audit logs a day and a merge buffer of 20 pages of 5, that stretch
    is halved once or twice, never the eight times a 400-day window would need,
    and every audit log is still exported exactly once, in order.
    """
    server = emulator_factory("--audit-logs", "3000", "--audit-days", "32")
    config = tap_config(server.url, page_size=5, window_hours=24 * 400)
    run = run_tap_in_process(config)
    assert run.returncode == 0, run.stderr
    expected = truth(server.url, "audit_logs")
    assert len(expected) > 200
    assert_exported_once(run.uuids("audit_logs"), expected)
    times = [normalize_timestamp(r["meta"]["create_time"]) for r in run.records["audit_logs"]]
    assert times == sorted(times)
    halvings = run.stderr.count("Seam window over its buffer on audit_logs")
    # Reading ahead (max_concurrent_requests > 1), windows are sized by the density
    # already seen, so the seam's stretch may fit its buffer at once.
    reads_ahead = int(config.get("max_concurrent_requests", 4)) > 1
    assert (0 if reads_ahead else 1) <= halvings <= 3


def test_null_settings_take_their_defaults(emulator: ServerProcess) -> None:
    """An explicit null is "not set" (page_size: null reached int(None))."""
    nulls = dict.fromkeys(("page_size", "window_hours", "request_timeout", "api_url"))
    config = {**tap_config(emulator.url), **nulls}
    run = run_tap(config, env={"ENDOR_API": emulator.url})  # endorctl's variable fills api_url
    assert run.returncode == 0, run.stderr
    assert_exported_once(run.uuids("audit_logs"), truth(emulator.url, "audit_logs"))


def test_second_run_with_state_emits_only_new(emulator_factory: Factory) -> None:
    server = emulator_factory("--seed", "3")
    first = run_tap_in_process(tap_config(server.url))
    assert first.returncode == 0, first.stderr
    control(server.url, "advance", {"seconds": 600, "audit_logs": 25, "scans": 2})
    second = run_tap_in_process(tap_config(server.url), state=first.final_state)
    assert second.returncode == 0, second.stderr
    for stream in ("audit_logs", "scan_results", "finding_logs"):
        old = set(first.uuids(stream))
        new = set(second.uuids(stream))
        everything = {o["uuid"] for o in truth(server.url, stream)}
        assert old | new == everything, stream
        # The state lists what was emitted at the bookmark's instant: nothing repeats.
        assert not old & new, stream
    added = {o["uuid"] for o in truth(server.url, "audit_logs")} - set(first.uuids("audit_logs"))
    assert added, "advance should have added audit logs to acme"
    assert set(second.uuids("audit_logs")) - set(first.uuids("audit_logs")) == added


def test_late_finishing_scan_is_exported_by_a_later_run(emulator_factory: Factory) -> None:
    server = emulator_factory("--seed", "4")
    config = tap_config(server.url, include_child_namespaces=True)
    first = run_tap_in_process(config)
    assert first.returncode == 0, first.stderr
    before = {o["uuid"] for o in truth(server.url, "scan_results", NAMESPACES)}
    assert set(first.uuids("scan_results")) == before
    control(server.url, "advance", {"seconds": 60})
    control(server.url, "complete-running-scans")
    finished = {o["uuid"] for o in truth(server.url, "scan_results", NAMESPACES)} - before
    assert finished, "the emulator should have had running scans"
    second = run_tap_in_process(config, state=first.final_state)
    assert second.returncode == 0, second.stderr
    assert finished <= set(second.uuids("scan_results"))
    scans_with_findings = {r["scan_context"]["scan_uuid"] for r in second.records["findings"]}
    assert finished & scans_with_findings


def test_findings_carry_scan_context_contiguously(emulator: ServerProcess) -> None:
    run = run_tap_in_process(tap_config(emulator.url))
    assert run.returncode == 0, run.stderr
    findings = run.records["findings"]
    assert findings, "the run exported no findings"
    scans = {s["uuid"]: s for s in truth(emulator.url, "scan_results")}
    order: list[str] = []
    for finding in findings:
        context = finding["scan_context"]
        if not order or order[-1] != context["scan_uuid"]:
            assert context["scan_uuid"] not in order, "scan findings interleaved"
            order.append(context["scan_uuid"])
        scan = scans[context["scan_uuid"]]
        assert finding["uuid"] in scan["spec"]["findings"]
        assert context["scan_time"] == scan["spec"]["end_time"]
        assert context["scan_type"] == (
            "pr" if scan["context"]["type"] == "CONTEXT_TYPE_CI_RUN" else "schedule"
        )
        assert context["project_uuid"] == scan["meta"]["parent_uuid"]
        assert context["project_name"].startswith("https://")
        assert context["ref"]
    lasts = [f["scan_context"]["scan_uuid"] for f in findings if f["scan_context"]["last"]]
    assert lasts == order


def test_window_splits_on_deadline_and_finishes(emulator_factory: Factory) -> None:
    # Few rows, each dear: 100 audit logs at 2 ms a row (20 ms in the archive) time out
    # a window of them all, and its half, at a 1 s deadline; a quarter answers in time.
    # Each 504 costs the whole deadline, so fewer rows, not cheaper ones, keep this short.
    # The other streams are small: at this row cost they would be slow, not split.
    server = emulator_factory(
        "--seed", "5", "--row-cost-us", "2000", "--audit-logs", "100",
        "--authentication-logs", "20", "--findings-per-scan", "2", "--finding-logs", "10",
    )  # fmt: skip
    config = tap_config(server.url, request_timeout=1, window_hours=24 * 90)
    run = run_tap_in_process(config)
    assert run.returncode == 0, run.stderr
    for stream in STREAMS:
        assert_exported_once(run.uuids(stream), truth(server.url, stream))
    # Halved twice at least: a split window that still times out is split again.
    assert stats(server.url)["by_status"].get("504", 0) >= 2
    assert run.stderr.count("Deadline exceeded on audit_logs") >= 2


@pytest.mark.parametrize("fault", ["429", "500", "503", "504", "reset", "truncate"])
def test_retries_under_each_fault(emulator_factory: Factory, fault: str) -> None:
    # One request in twenty (~15 of ~300): each fault costs a backoff wait (0.05-0.1 s),
    # and at one in seven the ~60 of them were most of the run. Long bursts and a third
    # of requests failing: test_api_patience.
    server = emulator_factory(
        "--seed", "6", "--fault", f"{fault}:0.05", "--retry-after", "0", "--audit-logs", "600"
    )
    run = run_tap_in_process(tap_config(server.url, page_size=100))
    assert run.returncode == 0, run.stderr
    for stream in STREAMS:
        assert_exported_once(run.uuids(stream), truth(server.url, stream))
    assert stats(server.url)["faults_injected"] >= 5


@pytest.mark.parametrize("expiry_field", ["expirationTime", "expiration_time"])
def test_token_expiry_mid_run_renews(emulator_factory: Factory, expiry_field: str) -> None:
    # A 2 s token, and the run held past it. Not 1 s: the tap measures the lifetime
    # against the whole-second Date header, so a 1 s token may be renewed only as it expires.
    # Endor's clients spell the expiry expirationTime, the OpenAPI file expiration_time.
    server = emulator_factory(
        "--seed",
        "7",
        "--token-ttl",
        "2",
        "--base-latency",
        "0.002",
        f"--auth-expiry-field={expiry_field}",
        # More output than the pipe holds: the run is held mid-stream past the lifetime.
        "--audit-logs",
        "600",
    )
    run = run_tap_past_token_lifetime(tap_config(server.url, page_size=50), lifetime_seconds=2)
    assert run.returncode == 0, run.stderr
    assert_exported_once(run.uuids("audit_logs"), truth(server.url, "audit_logs"))
    counts = stats(server.url)
    assert counts["token_exchanges"] > 1
    # Renewed before it ran out: no request was ever refused.
    assert counts["by_status"].get("401", 0) == 0, counts["by_status"]


def test_revoked_tokens_reauthenticate_once(emulator_factory: Factory) -> None:
    # 400 audit logs: far more output than the pipe holds, so the tap is blocked mid-run
    # when the tokens are revoked, and many requests follow.
    server = emulator_factory("--seed", "8", "--base-latency", "0.002", "--audit-logs", "400")
    run = run_tap_acting(
        tap_config(server.url, page_size=50, max_concurrent_requests=1),
        lambda _: control(server.url, "expire-tokens"),
    )
    assert run.returncode == 0, run.stderr
    assert_exported_once(run.uuids("audit_logs"), truth(server.url, "audit_logs"))
    counts = stats(server.url)
    # One refused request, one fresh exchange on top of the first: not a retry storm.
    assert counts["by_status"].get("401", 0) == 1, counts["by_status"]
    assert counts["token_exchanges"] == 2


def test_unknown_fields_are_kept(emulator_factory: Factory) -> None:
    server = emulator_factory("--seed", "1", "--unknown-fields")
    run = run_tap_in_process(tap_config(server.url))
    assert run.returncode == 0, run.stderr
    for stream in STREAMS:
        assert run.records[stream], stream
        for record in run.records[stream]:
            assert "x_emulator_extra" in record, stream
            assert "x_emulator_extra" in record["spec"], stream


def test_child_namespaces_are_included(emulator: ServerProcess) -> None:
    run = run_tap_in_process(tap_config(emulator.url, include_child_namespaces=True))
    assert run.returncode == 0, run.stderr
    for stream in STREAMS:
        assert_exported_once(run.uuids(stream), truth(emulator.url, stream, NAMESPACES))
        # One bookmark per namespace, not one across all of them.
        partitions = run.final_state["bookmarks"][stream]["partitions"]
        assert [p["context"]["namespace"] for p in partitions] == list(NAMESPACES), stream
    assert {f["scan_context"]["namespace"] for f in run.records["findings"]} > {"acme"}


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"api_secret": "wrong-secret-value"}, "api_key and api_secret"),
        ({"namespace": "no-such-tenant"}, "namespace"),
        ({"namespace": "other-corp"}, "denied"),
        ({"audit_log_filter": "spec.operation === ("}, "audit_log_filter"),
        # The API refuses a path the resource lacks: each filter names its own setting.
        ({"finding_log_filter": "spec.project_uuid exists"}, "finding_log_filter"),
        ({"finding_filter": "spec.no_such_field exists"}, "finding_filter"),
        ({"start_date": "last tuesday"}, "start_date"),
        ({"page_size": 5000}, "page_size"),
    ],
)
def test_fatal_errors_are_one_line_without_secrets(
    emulator: ServerProcess, overrides: dict, expected: str
) -> None:
    # The command itself once (its one-line guard), the others in this process.
    run_on = run_tap if "api_secret" in overrides else run_tap_in_process
    run = run_on(tap_config(emulator.url, **overrides))
    assert run.returncode == 1
    assert "Traceback" not in run.stderr
    error_lines = [line for line in run.stderr.splitlines() if "tap-endorlabs: error:" in line]
    assert len(error_lines) == 1, run.stderr
    assert expected in error_lines[0]
    for secret in ("demo-secret", "wrong-secret-value"):
        assert secret not in run.stderr
    assert not run.records


def test_about_lists_every_setting() -> None:
    about = subprocess.run(
        [TAP, "--about", "--format=markdown"], capture_output=True, text=True, check=True
    ).stdout
    for setting in (
        "namespace",
        "api_key",
        "api_secret",
        "token",
        "api_url",
        "start_date",
        "include_child_namespaces",
        "page_size",
        "request_timeout",
        "audit_log_filter",
        "finding_filter",
        "finding_log_filter",
    ):
        assert f"| {setting} |" in about


@pytest.mark.parametrize(
    "flags",
    [
        pytest.param(("--fault", "slow:1.0", "--slow-delay", "0.05"), id="while-waiting"),
        # Records streaming out as fast as they come: a STATE written from the
        # signal handler would land inside a half-written record line. The tap is
        # blocked writing when the signal comes (its output, ~3 MB, is held unread
        # past the pipe's and its own 64 KiB buffers): 4,000 logs keep it so as
        # 20,000 did, for a fifth of the CPU of the resumed run.
        pytest.param(("--audit-logs", "4000"), id="while-writing"),
    ],
)
def test_sigterm_writes_the_state_reached_and_exits_non_zero(
    emulator_factory: Factory, flags: tuple[str, ...]
) -> None:
    """A stopped tap says so (exit 143), every line is whole, its state resumes the export."""
    server = emulator_factory("--seed", "9", *flags)
    config = tap_config(server.url, page_size=20)
    first = run_tap_acting(config, lambda tap: tap.send_signal(signal.SIGTERM), after=30)
    assert first.returncode == 128 + signal.SIGTERM
    assert "stopped by SIGTERM" in first.stderr
    assert first.messages[-1]["type"] == "STATE"  # and every line whole: each was parsed
    # The state is the one reached: its bookmark is the last record's time, not
    # one from a while back (bookmarks are saved lazily, see save_bookmark).
    # (A window's ``reconciliations`` record follows its records: the last data record counts.)
    data = [m for m in first.messages if m["type"] == "RECORD" and m["stream"] != "reconciliations"]
    last = data[-1]
    if flags[0] == "--audit-logs":
        assert last["stream"] == "audit_logs"
        bookmark = first.final_state["bookmarks"]["audit_logs"]["replication_key_value"]
        assert bookmark == normalize_timestamp(last["record"]["meta"]["create_time"])

    control(server.url, "faults", {"faults": []})
    second = run_tap_in_process(config, first.final_state)
    assert second.returncode == 0, second.stderr
    for stream in STREAMS:
        exported = set(first.uuids(stream)) | set(second.uuids(stream))
        assert exported >= {o["uuid"] for o in truth(server.url, stream)}, stream


def _reference_validator(resource: str) -> jsonschema.protocols.Validator:
    schema = json.loads((DEFAULT_REFERENCE_DIR / f"{resource}.json").read_text())
    cls = jsonschema.validators.validator_for(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def test_authentication_logs_validate_against_the_reference_and_resume(
    emulator_factory: Factory,
) -> None:
    server = emulator_factory("--seed", "13", "--authentication-logs", "600")
    config = tap_config(server.url, page_size=100)
    first = run_tap_in_process(config)
    assert first.returncode == 0, first.stderr
    logs = first.records["authentication_logs"]
    assert_exported_once(
        first.uuids("authentication_logs"), truth(server.url, "authentication_logs")
    )
    validator = _reference_validator("AuthenticationLog")
    for record in logs:
        errors = list(validator.iter_errors(record))
        assert not errors, f"{record['uuid']}: {errors[0].message}"
    assert {r["spec"]["success"] for r in logs} == {True, False}  # nothing dropped or coerced
    times = [normalize_timestamp(r["meta"]["create_time"]) for r in logs]
    assert times == sorted(times)
    bookmark = first.final_state["bookmarks"]["authentication_logs"]["replication_key_value"]
    assert bookmark == times[-1]

    control(server.url, "advance", {"seconds": 600, "authentication_logs": 30})
    second = run_tap_in_process(config, first.final_state)
    assert second.returncode == 0, second.stderr
    everything = {o["uuid"] for o in truth(server.url, "authentication_logs")}
    new = everything - set(first.uuids("authentication_logs"))
    assert new and set(second.uuids("authentication_logs")) >= new
    # At-least-once: only what sits at the bookmark instant may come again.
    for record in second.records["authentication_logs"]:
        if record["uuid"] not in new:
            assert normalize_timestamp(record["meta"]["create_time"]) == bookmark


def test_finding_filter_applies_to_findings_only(emulator: ServerProcess) -> None:
    """A path finding logs lack (the API answers 400 "invalid path") stays out of their queries."""
    critical = "spec.level==FINDING_LEVEL_CRITICAL and spec.project_uuid exists"
    run = run_tap_in_process(tap_config(emulator.url, finding_filter=critical))
    assert run.returncode == 0, run.stderr
    expected = [
        f for f in truth(emulator.url, "findings") if f["spec"]["level"] == "FINDING_LEVEL_CRITICAL"
    ]
    assert_exported_once(run.uuids("findings"), expected)
    assert_exported_once(run.uuids("finding_logs"), truth(emulator.url, "finding_logs"))
    assert {r["spec"]["level"] for r in run.records["finding_logs"]} > {"FINDING_LEVEL_CRITICAL"}


def test_finding_log_filter_applies_to_finding_logs_only(emulator: ServerProcess) -> None:
    run = run_tap_in_process(
        tap_config(emulator.url, finding_log_filter="spec.operation==OPERATION_UPDATE")
    )
    assert run.returncode == 0, run.stderr
    updates = [
        log
        for log in truth(emulator.url, "finding_logs")
        if log["spec"]["operation"] == "OPERATION_UPDATE"
    ]
    assert_exported_once(run.uuids("finding_logs"), updates)
    assert_exported_once(run.uuids("findings"), truth(emulator.url, "findings"))
