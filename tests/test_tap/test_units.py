"""Pure functions of the tap: windows, filters, paging, scan context, settings, schemas."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tap_endorlabs import filters
from tap_endorlabs.errors import FatalTapError
from tap_endorlabs.namespaces import full_name, partition_names
from tap_endorlabs.pagination import Cursor, ListQuery, clamp_page_size, next_page_token
from tap_endorlabs.scan_context import build_scan_context, scan_ref, scan_type
from tap_endorlabs.schema_gen import STREAM_RESOURCES, build_stream_schema
from tap_endorlabs.settings import check_settings, endorctl_env_fallbacks
from tap_endorlabs.windows import (
    WindowPlanner,
    normalize_timestamp,
    parse_timestamp,
    seam_edges,
    sources_for,
)

T0 = datetime(2025, 1, 1, tzinfo=UTC)
REFERENCE = Path(__file__).resolve().parents[3] / "shared/reference/endor-api-schemas"


def test_timestamps_of_any_width_sort_by_time_once_normalized() -> None:
    values = ["2025-01-01T00:00:00Z", "2025-01-01T00:00:00.5Z", "2025-01-01T00:00:01Z"]
    assert sorted(values) != values  # raw strings do not sort by time
    assert sorted(normalize_timestamp(v) for v in values) == [
        normalize_timestamp(v) for v in values
    ]
    assert parse_timestamp("2025-01-01") == T0
    with pytest.raises(ValueError):
        parse_timestamp("yesterday")


def test_planner_grows_quiet_windows_and_halves_on_deadline() -> None:
    planner = WindowPlanner(start=T0, end=T0 + timedelta(days=10), size=timedelta(days=1))
    lo, hi = planner.current()
    assert (lo, hi) == (T0, T0 + timedelta(days=1))
    planner.done(hi, cheap=True)
    assert planner.current() == (T0 + timedelta(days=1), T0 + timedelta(days=3))
    planner.split(T0 + timedelta(days=1, hours=6))
    assert planner.current() == (
        T0 + timedelta(days=1, hours=6),
        T0 + timedelta(days=2, hours=6),
    )
    # Halving again and again reaches the floor, and stops there.
    for _ in range(30):
        planner.split(lo)
    assert planner.at_minimum
    assert planner.size == planner.min_size


def test_planner_last_window_is_open_ended_past_now() -> None:
    planner = WindowPlanner(start=T0, end=None, size=timedelta(days=1), now=T0 + timedelta(hours=5))
    lo, hi = planner.current()
    assert (lo, hi) == (T0, None)
    planner.done(hi, cheap=True)
    assert planner.finished


def test_seam_windows_read_both_stores() -> None:
    boundary = T0
    assert sources_for(T0 - timedelta(days=3), T0 - timedelta(days=2), boundary) == ("archive",)
    assert sources_for(T0 + timedelta(days=2), None, boundary) == ("active",)
    assert sources_for(T0 - timedelta(days=1), T0 + timedelta(days=1), boundary) == (
        "active",
        "archive",
    )


def test_filters_wrap_dates_and_parenthesise_user_filters() -> None:
    expr = filters.all_of(
        filters.time_range("meta.create_time", T0, T0 + timedelta(days=1)),
        "a==1 or b==2",
    )
    assert expr == (
        "meta.create_time >= date(2025-01-01T00:00:00Z) and "
        "meta.create_time < date(2025-01-02T00:00:00Z) and (a==1 or b==2)"
    )
    assert filters.all_of("spec.message_kind exists", "x > 1") == (
        "spec.message_kind exists and x > 1"
    )
    assert filters.one_of("uuid", ["x", "y"]) == 'uuid in ["x", "y"]'
    assert filters.all_of(None, " ") is None


def test_paging_uses_page_token_with_sort_never_page_id() -> None:
    query = ListQuery(path="/p", filter="f", page_size=9999, sort_path="meta.create_time")
    params = query.params(Cursor(page_token=500))
    assert params["list_parameters.page_token"] == 500
    assert params["list_parameters.page_size"] == 500
    assert params["list_parameters.sort.path"] == "meta.create_time"
    assert not any("page_id" in key for key in params)
    assert clamp_page_size(0) == 1
    assert next_page_token({"list": {"response": {"next_page_token": 200}}}) == 200
    assert next_page_token({"list": {"objects": []}}) is None


def _scan(context: dict, refs: list[str], config: dict | None = None) -> dict:
    return {
        "uuid": "s1",
        "meta": {"parent_uuid": "p1"},
        "tenant_meta": {"namespace": "acme.platform"},
        "context": context,
        "spec": {
            "end_time": "2025-01-02T03:04:05Z",
            "refs": refs,
            "environment": {"config": config or {}},
        },
    }


def test_scan_context_for_pr_and_branch_scans() -> None:
    pr = _scan({"type": "CONTEXT_TYPE_CI_RUN", "id": "run-uuid"}, ["refs/pull/123/head", "main"])
    assert scan_type(pr) == "pr"
    assert scan_ref(pr) == "123"
    # No model field holds a PR number: endorctl's free-form config is not read, and a
    # PR scan without a pull ref is filed under its run's UUID (context.id).
    run_id = "0b6f3a52-6d7e-4a51-9b47-1c2f8e6c7a10"
    pr_branch = _scan({"type": "CONTEXT_TYPE_CI_RUN", "id": run_id}, ["feature/x"], {"pr": 7})
    assert scan_ref(pr_branch) == run_id
    gitlab = _scan({"type": "CONTEXT_TYPE_CI_RUN", "id": run_id}, ["refs/merge-requests/9/head"])
    assert scan_ref(gitlab) == "9"
    versions_only = _scan({"type": "CONTEXT_TYPE_CI_RUN", "id": run_id}, [])
    versions_only["spec"]["versions"] = [{"ref": "refs/pull/44/merge", "sha": "abc"}, {"sha": "x"}]
    assert scan_ref(versions_only) == "44"
    main = _scan({"type": "CONTEXT_TYPE_MAIN", "id": "default"}, ["refs/heads/trunk"])
    assert (scan_type(main), scan_ref(main)) == ("schedule", "trunk")
    branch = _scan({"type": "CONTEXT_TYPE_REF", "id": "feature/x"}, ["feature/x"])
    assert scan_ref(branch) == "feature/x"
    context = build_scan_context(pr, {"uuid": "p1", "meta": {"name": "https://g/x"}}, last=True)
    assert context == {
        "scan_uuid": "s1",
        "scan_time": "2025-01-02T03:04:05Z",
        "scan_type": "pr",
        "ref": "123",
        "project_uuid": "p1",
        "project_name": "https://g/x",
        "namespace": "acme.platform",
        "last": True,
    }


def test_namespace_full_name_falls_back_to_parent_and_name_as_the_sdk_does() -> None:
    child = {"meta": {"name": "platform"}, "tenant_meta": {"namespace": "acme"}}
    assert full_name(child) == "acme.platform"
    assert full_name({**child, "spec": {"full_name": "acme.other"}}) == "acme.other"
    assert full_name({**child, "spec": {"full_name": None}}) == "acme.platform"
    assert full_name({"spec": {}}) == ""
    assert partition_names("acme", [full_name(child), full_name({})]) == ["acme", "acme.platform"]


def test_settings_checks_and_env_fallbacks() -> None:
    with pytest.raises(FatalTapError, match="start_date"):
        check_settings({"api_key": "k", "api_secret": "s", "start_date": "not-a-date"})
    with pytest.raises(FatalTapError, match="mutually exclusive"):
        check_settings({"api_key": "k", "api_secret": "s", "token": "t"})
    with pytest.raises(FatalTapError, match="Missing credentials"):
        check_settings({"api_key": "k"})
    env = {"ENDOR_NAMESPACE": "acme", "ENDOR_API_TIMEOUT": "30s", "ENDOR_TOKEN": "tok"}
    assert endorctl_env_fallbacks(env) == {
        "namespace": "acme",
        "request_timeout": 30,
        "token": "tok",
    }


def _objects(schema: dict) -> list[dict]:
    found = []
    stack = [schema]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            types = node.get("type")
            if types == "object" or (isinstance(types, list) and "object" in types):
                found.append(node)
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return found


@pytest.mark.parametrize("stream", sorted(STREAM_RESOURCES))
def test_generated_schemas_are_open_and_current(stream: str) -> None:
    schema = build_stream_schema(stream, REFERENCE)
    assert "$ref" not in json.dumps(schema)
    assert all(obj.get("additionalProperties") is not False for obj in _objects(schema))
    assert all(
        obj.get("additionalProperties") is True for obj in _objects(schema) if "properties" in obj
    )
    committed = Path(__file__).resolve().parents[2] / "tap_endorlabs/schemas" / f"{stream}.json"
    assert json.loads(committed.read_text()) == schema, "run python -m tap_endorlabs.schema_gen"


def edges_start(boundary: datetime) -> datetime:
    return seam_edges(boundary)[0]


def test_windows_are_cut_at_the_seam_edges_and_the_seam_is_read_alone() -> None:
    boundary = T0 + timedelta(days=100)
    edges = seam_edges(boundary)
    planner = WindowPlanner(
        start=T0, end=None, size=timedelta(days=64), now=T0 + timedelta(days=200)
    )
    windows = []
    while not planner.finished:
        lo, hi = planner.current(edges)
        windows.append((lo, hi, sources_for(lo, hi, boundary)))
        planner.done(hi, cheap=True)
    merged = [(lo, hi) for lo, hi, sources in windows if len(sources) == 2]
    assert merged == [edges]  # only the two days around the boundary are merged


def test_a_moving_seam_is_not_chased_in_slivers() -> None:
    """The seam follows the clock: after the merged window it has moved on a little."""
    boundary = T0 + timedelta(days=100)
    planner = WindowPlanner(
        start=edges_start(boundary),
        end=None,
        size=timedelta(days=8),
        now=T0 + timedelta(days=200),
    )
    reads = []
    while not planner.finished and len(reads) < 20:
        lo, hi = planner.current(seam_edges(boundary))
        reads.append(sources_for(lo, hi, boundary))
        planner.done(hi, cheap=True)
        boundary += timedelta(seconds=30)  # the time one window took to read
    assert reads[0] == ("active", "archive")
    assert all(sources == ("active",) for sources in reads[1:])
    assert planner.finished


def test_split_halves_the_window_an_edge_cut_short() -> None:
    planner = WindowPlanner(
        start=T0, end=None, size=timedelta(days=64), now=T0 + timedelta(days=999)
    )
    lo, hi = planner.current([T0 + timedelta(days=2)])
    assert hi == T0 + timedelta(days=2)
    planner.split(lo, tried=hi - lo)
    assert planner.current()[1] == T0 + timedelta(days=1)


def test_planner_ceiling_after_deadline_relaxes_after_good_windows() -> None:
    planner = WindowPlanner(start=T0, end=None, size=timedelta(days=8), now=T0 + timedelta(days=99))
    planner.split(T0)
    for _ in range(3):
        _, hi = planner.current()
        assert hi is not None
        planner.done(hi, cheap=True)
        assert planner.size == timedelta(days=4)
    _, hi = planner.current()
    assert hi is not None
    planner.done(hi, cheap=True)
    assert planner.size == timedelta(days=8)


def test_writer_holds_records_until_a_state_and_keeps_their_order(
    capsysbinary: pytest.CaptureFixture[bytes],
) -> None:
    """RECORD lines may wait in the buffer, but never behind the STATE that covers them."""
    from singer_sdk.singerlib import RecordMessage, StateMessage

    from tap_endorlabs.output import BufferedMsgSpecWriter

    writer = BufferedMsgSpecWriter()
    writer.write_message(RecordMessage(stream="audit_logs", record={"uuid": "a", "x": {"y": 1}}))
    assert capsysbinary.readouterr().out == b""
    writer.write_message(StateMessage(value={"bookmarks": {"audit_logs": {}}}))
    lines = [json.loads(line) for line in capsysbinary.readouterr().out.splitlines()]
    assert [line["type"] for line in lines] == ["RECORD", "STATE"]
    assert lines[0]["record"] == {"uuid": "a", "x": {"y": 1}}


def test_writer_leaves_no_half_line_when_a_record_fails_to_encode(
    capsysbinary: pytest.CaptureFixture[bytes],
) -> None:
    """The writer encodes into its buffer; a failure must not leave bytes to be flushed."""
    from singer_sdk.singerlib import RecordMessage

    from tap_endorlabs.output import BufferedMsgSpecWriter

    writer = BufferedMsgSpecWriter()
    writer.write_message(RecordMessage(stream="audit_logs", record={"uuid": "a"}))
    looped: dict[str, Any] = {"uuid": "b"}
    looped["self"] = looped
    with pytest.raises(RecursionError):
        writer.write_message(RecordMessage(stream="audit_logs", record=looped))
    writer.flush()
    lines = [json.loads(line) for line in capsysbinary.readouterr().out.splitlines()]
    assert [line["record"]["uuid"] for line in lines] == ["a"]
