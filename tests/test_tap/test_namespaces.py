"""include_child_namespaces: one bookmark per (stream, namespace), no traverse."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tap_endorlabs.windows import normalize_timestamp
from tests.support.servers import ServerProcess
from tests.test_tap.tap_runner import (
    NAMESPACES,
    STREAMS,
    assert_exported_once,
    control,
    run_tap_in_process,
    stats,
    tap_config,
    truth,
)

Factory = Callable[..., ServerProcess]


def _partitions(state: dict[str, Any], stream: str) -> dict[str, str]:
    """namespace -> bookmark of one stream's partitions."""
    entries = state["bookmarks"][stream]["partitions"]
    return {entry["context"]["namespace"]: entry["replication_key_value"] for entry in entries}


def _time(stream: str, record: dict[str, Any]) -> str:
    """The field a stream's bookmark follows."""
    if stream == "findings":
        return str(record["scan_context"]["scan_time"])
    if stream == "scan_results":
        return str(record["spec"]["end_time"])
    return str(record["meta"]["create_time"])


def test_state_has_a_bookmark_per_namespace_and_a_second_run_emits_only_new(
    emulator_factory: Factory,
) -> None:
    server = emulator_factory("--seed", "11")
    config = tap_config(server.url, include_child_namespaces=True)
    first = run_tap_in_process(config)
    assert first.returncode == 0, first.stderr
    for stream in STREAMS:
        assert_exported_once(first.uuids(stream), truth(server.url, stream, NAMESPACES))
        partitions = first.final_state["bookmarks"][stream]["partitions"]
        assert [p["context"]["namespace"] for p in partitions] == list(NAMESPACES), stream
        # Bookmarks follow one record field.
        if stream in ("audit_logs", "authentication_logs", "scan_results"):
            bookmarks = _partitions(first.final_state, stream)
            for namespace in NAMESPACES:
                times = [
                    normalize_timestamp(_time(stream, r))
                    for r in first.records[stream]
                    if r["tenant_meta"]["namespace"] == namespace
                ]
                assert bookmarks[namespace] == max(times), (stream, namespace)
        else:
            assert all(p["replication_key_value"] for p in partitions), stream
    # Records stay the API's objects: the partition key is not copied into them.
    assert all("namespace" not in r for s in STREAMS for r in first.records[s])
    paths = stats(server.url)["by_path"]
    for namespace in NAMESPACES:
        assert paths.get(f"/v1/namespaces/{namespace}/scan-results", 0) > 0, namespace
    # Listed once per run, and counted once (the listing is checked like every read).
    assert paths.get("/v1/namespaces/acme/namespaces") == 2

    control(
        server.url,
        "advance",
        {"seconds": 600, "audit_logs": 40, "scans": 4, "authentication_logs": 40},
    )
    second = run_tap_in_process(config, state=first.final_state)
    assert second.returncode == 0, second.stderr
    for stream in ("audit_logs", "authentication_logs", "scan_results", "findings"):
        everything = {o["uuid"] for o in truth(server.url, stream, NAMESPACES)}
        new = everything - set(first.uuids(stream))
        assert new, stream
        assert set(second.uuids(stream)) >= new, stream
        # At-least-once: only what sits at its namespace's bookmark may repeat
        # (for findings: the whole scan at the bookmark, never half of it).
        bookmarks = _partitions(first.final_state, stream)
        repeated = [r for r in second.records[stream] if r["uuid"] not in new]
        assert len(repeated) < len(new), stream
        for record in repeated:
            namespace = record["tenant_meta"]["namespace"]
            assert normalize_timestamp(_time(stream, record)) == bookmarks[namespace], stream
    for stream in STREAMS:
        before, after = (
            _partitions(first.final_state, stream),
            _partitions(second.final_state, stream),
        )
        assert set(after) == set(NAMESPACES)
        assert all(after[n] >= before[n] for n in NAMESPACES), stream


def test_every_state_holds_the_bookmark_of_the_record_before_it(
    emulator: ServerProcess,
) -> None:
    """Bookmarks are saved when STATE is written (save_bookmark), not per record:
    each STATE, the periodic ones included, must carry the last record's time."""
    run = run_tap_in_process(tap_config(emulator.url))
    assert run.returncode == 0, run.stderr
    last_time = None
    checked = 0
    for message in run.messages:
        if message["type"] == "RECORD" and message["stream"] == "audit_logs":
            last_time = normalize_timestamp(message["record"]["meta"]["create_time"])
        elif message["type"] == "STATE" and last_time is not None:
            bookmark = message["value"]["bookmarks"]["audit_logs"]
            assert bookmark["replication_key_value"] == last_time
            checked += 1
            last_time = None
    assert checked >= 2  # at least one periodic STATE (every 1,000 records) and the last


def test_namespace_added_later_with_old_data_is_exported_completely(
    emulator_factory: Factory,
) -> None:
    """A namespace that becomes readable after a run holds objects older than every bookmark."""
    server = emulator_factory("--seed", "12")
    config = tap_config(server.url, include_child_namespaces=True)
    first = run_tap_in_process(config)
    assert first.returncode == 0, first.stderr
    control(
        server.url,
        "add-namespace",
        {"name": "acme.newteam", "audit_logs": 30, "scans": 3, "backdate_days": 40},
    )
    second = run_tap_in_process(config, state=first.final_state)
    assert second.returncode == 0, second.stderr
    for stream in STREAMS:
        added = truth(server.url, stream, ("acme.newteam",))
        assert added, stream
        exported = set(second.uuids(stream))
        assert {o["uuid"] for o in added} <= exported, stream
        assert "acme.newteam" in _partitions(second.final_state, stream), stream
    # The new namespace's findings carry their scan's context, in that namespace.
    contexts = [r["scan_context"] for r in second.records["findings"]]
    assert {c["namespace"] for c in contexts} >= {"acme.newteam"}
    assert stats(server.url)["by_path"].get("/v1/namespaces/acme.newteam/audit-logs/archived")


def test_without_the_setting_there_are_no_partitions(emulator: ServerProcess) -> None:
    run = run_tap_in_process(tap_config(emulator.url))
    assert run.returncode == 0, run.stderr
    for stream in STREAMS:
        assert "partitions" not in run.final_state["bookmarks"][stream], stream
        assert run.final_state["bookmarks"][stream]["replication_key_value"], stream


def test_a_key_that_cannot_list_namespaces_fails_in_one_line(emulator_factory: Factory) -> None:
    server = emulator_factory("--deny-namespace-list")
    run = run_tap_in_process(tap_config(server.url, include_child_namespaces=True))
    assert run.returncode == 1
    assert "Traceback" not in run.stderr
    (line,) = [x for x in run.stderr.splitlines() if "tap-endorlabs: error:" in x]
    assert "cannot list the namespaces under 'acme'" in line
    assert "include_child_namespaces: false" in line
    assert not run.records
    # Without the setting the namespaces are never listed: the same key exports.
    plain = run_tap_in_process(tap_config(server.url))
    assert plain.returncode == 0, plain.stderr
    assert plain.records["audit_logs"]


def test_namespaces_without_full_name_are_named_from_parent_and_name(
    emulator_factory: Factory,
) -> None:
    """The official SDK's fallback: ``tenant_meta.namespace + "." + meta.name``."""
    server = emulator_factory("--namespaces-without-full-name")
    run = run_tap_in_process(tap_config(server.url, include_child_namespaces=True))
    assert run.returncode == 0, run.stderr
    for stream in STREAMS:
        assert_exported_once(run.uuids(stream), truth(server.url, stream, NAMESPACES))
        assert list(_partitions(run.final_state, stream)) == list(NAMESPACES), stream
