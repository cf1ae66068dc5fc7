"""Key layout as pure functions: hostile names, distinct keys, stable exporter uuid."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from urllib.parse import unquote

import pytest

from target_s3_endor import naming
from target_s3_endor.layouts import endor
from tests.test_target.conftest import finding

ROOT = "endor/uuid-prod"


@pytest.mark.parametrize(
    "hostile",
    ["../../etc/passwd", "a/b/c", "..", ".", "x\x00y\n\tz\x7f", "", "/", "é漢字 name", "a" * 500],
)
def test_segments_never_hold_slashes_dots_or_control_characters(hostile: str) -> None:
    segment = naming.safe_segment(hostile)
    assert segment and "/" not in segment and ".." not in segment
    assert segment not in {".", ".."}
    assert all(ch.isprintable() and ord(ch) < 128 for ch in segment)
    assert len(segment) <= naming.MAX_SEGMENT_LENGTH


def test_long_segments_keep_a_hash_so_shared_beginnings_stay_apart() -> None:
    a = naming.safe_segment("x" * 300 + "a")
    b = naming.safe_segment("x" * 300 + "b")
    assert a != b and len(a) == len(b) == naming.MAX_SEGMENT_LENGTH


def test_project_names_read_like_repositories() -> None:
    assert endor.readable_project_name("https://github.com/acme/python-repo.git") == (
        "github.com-acme-python-repo"
    )
    assert endor.readable_project_name("git@gitlab.com:acme/tools.git") == "gitlab.com-acme-tools"


def test_two_projects_with_names_that_sanitise_alike_get_different_keys() -> None:
    one = endor.scan_place(finding(1, project_uuid="p-1", project_name="acme/repo"), ROOT)
    two = endor.scan_place(finding(1, project_uuid="p-2", project_name="acme:repo"), ROOT)
    assert one and two and one.key_stem != two.key_stem


@pytest.mark.parametrize(
    "ref", ["feature/x", "feature_x", "feature%2Fx", "../..", "a/b/../c", "1234"]
)
def test_refs_are_encoded_reversibly(ref: str) -> None:
    segment = naming.ref_segment(ref)
    assert "/" not in segment and ".." not in segment
    assert unquote(segment) == ref


def test_distinct_refs_never_share_a_segment() -> None:
    refs = ["feature/x", "feature_x", "feature%2Fx", "feature-x", "feature.x"]
    assert len({naming.ref_segment(r) for r in refs}) == len(refs)


def test_scan_key_follows_the_endor_layout() -> None:
    place = endor.scan_place(finding(1, scan="xyz789", ref="main"), ROOT)
    assert place is not None
    assert place.key_stem == (
        "endor/uuid-prod/acme/proj-1-github.com-acme-python-repo/schedule/main/"
        "20251215T143025Z_xyz789"
    )


def test_scan_without_required_context_has_no_scan_place() -> None:
    rec = finding(1)
    del rec["scan_context"]["scan_time"]
    assert endor.scan_place(rec, ROOT) is None
    assert endor.scan_place({"uuid": "x"}, ROOT) is None


def test_time_partition_uses_namespace_and_create_time_day() -> None:
    arrival = datetime(2030, 1, 1, tzinfo=UTC)
    rec = {
        "meta": {"create_time": "2025-01-02T23:59:59.5+02:00"},
        "tenant_meta": {"namespace": "a.b"},
    }
    part = endor.time_partition(rec, "audit_logs", ROOT, arrival)
    assert part.folder == "endor/uuid-prod/a.b/audit-logs/2025/01/02"
    assert naming.compact_time(part.moment) == "20250102T215959Z"
    assert not part.fallback


def test_authentication_logs_are_filed_under_the_api_resource_name() -> None:
    rec = {
        "meta": {"create_time": "2025-03-04T05:06:07.123456789Z"},
        "tenant_meta": {"namespace": "acme"},
    }
    part = endor.time_partition(rec, "authentication_logs", ROOT, datetime(2030, 1, 1, tzinfo=UTC))
    assert part.folder == "endor/uuid-prod/acme/authentication-logs/2025/03/04"
    assert naming.compact_time(part.moment) == "20250304T050607Z"
    assert not part.fallback


def test_records_missing_layout_fields_go_to_the_unpartitioned_folder() -> None:
    arrival = datetime(2030, 1, 1, tzinfo=UTC)
    part = endor.time_partition({"id": 1}, "users", ROOT, arrival)
    assert part.fallback and part.folder == "endor/uuid-prod/_unpartitioned/users/2030/01/01"


def test_exporter_uuid_is_stable_and_depends_on_the_name() -> None:
    assert endor.default_exporter_uuid("prod") == endor.default_exporter_uuid("prod")
    assert endor.default_exporter_uuid("prod") != endor.default_exporter_uuid("dev")
    assert uuid.UUID(endor.default_exporter_uuid("prod")).version == 5


def test_prefix_parts_are_sanitised_and_empty_parts_dropped() -> None:
    assert naming.prefix_path("exports//endor/") == "exports/endor"
    assert ".." not in naming.prefix_path("../x") and naming.prefix_path("../x").endswith("/x")
    assert naming.prefix_path("") == ""
