"""The filter language over HTTP, and its parse errors."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.emulator.clock import parse_rfc3339_us
from tests.test_emulator.conftest import Api


def _ids(objects: list[dict[str, Any]]) -> list[str]:
    return [o["uuid"] for o in objects]


@pytest.fixture(scope="module")
def findings(emulator) -> list[dict[str, Any]]:  # type: ignore[no-untyped-def]
    from tests.test_emulator.conftest import connect

    return connect(emulator).truth("findings", "acme")


@pytest.mark.parametrize(
    ("text", "keep"),
    [
        (
            "spec.level==FINDING_LEVEL_CRITICAL",
            lambda o: o["spec"]["level"] == "FINDING_LEVEL_CRITICAL",
        ),
        ("spec.level=='FINDING_LEVEL_HIGH'", lambda o: o["spec"]["level"] == "FINDING_LEVEL_HIGH"),
        ("spec.level != FINDING_LEVEL_LOW", lambda o: o["spec"]["level"] != "FINDING_LEVEL_LOW"),
        (
            "spec.level in [FINDING_LEVEL_CRITICAL, 'FINDING_LEVEL_HIGH']",
            lambda o: o["spec"]["level"] in ("FINDING_LEVEL_CRITICAL", "FINDING_LEVEL_HIGH"),
        ),
        (
            "spec.level not in [FINDING_LEVEL_CRITICAL]",
            lambda o: o["spec"]["level"] != "FINDING_LEVEL_CRITICAL",
        ),
        (
            "spec.finding_categories contains [FINDING_CATEGORY_SECRETS, FINDING_CATEGORY_SAST]",
            lambda o: (
                {"FINDING_CATEGORY_SECRETS", "FINDING_CATEGORY_SAST"}
                & set(o["spec"]["finding_categories"])
            ),
        ),
        (
            "spec.finding_categories not contains [FINDING_CATEGORY_VULNERABILITY]",
            lambda o: "FINDING_CATEGORY_VULNERABILITY" not in o["spec"]["finding_categories"],
        ),
        (
            "spec.target_dependency_package_name matches '^npm://'",
            lambda o: o["spec"]["target_dependency_package_name"].startswith("npm://"),
        ),
        ("spec.finding_metadata exists", lambda o: "finding_metadata" in o["spec"]),
        ("spec.finding_metadata not exists", lambda o: "finding_metadata" not in o["spec"]),
        (
            "(spec.level==FINDING_LEVEL_LOW or spec.level==FINDING_LEVEL_MEDIUM) and "
            "context.type==CONTEXT_TYPE_MAIN",
            lambda o: (
                o["spec"]["level"] in ("FINDING_LEVEL_LOW", "FINDING_LEVEL_MEDIUM")
                and o["context"]["type"] == "CONTEXT_TYPE_MAIN"
            ),
        ),
        (
            "spec.level==FINDING_LEVEL_LOW or spec.level==FINDING_LEVEL_MEDIUM and "
            "context.type==CONTEXT_TYPE_MAIN",
            lambda o: (
                o["spec"]["level"] == "FINDING_LEVEL_LOW"
                or (
                    o["spec"]["level"] == "FINDING_LEVEL_MEDIUM"
                    and o["context"]["type"] == "CONTEXT_TYPE_MAIN"
                )
            ),
        ),
        (
            "spec.finding_metadata.vulnerability.spec.cvss_v3_severity.score >= 7.5",
            lambda o: (
                o["spec"]
                .get("finding_metadata", {})
                .get("vulnerability", {})
                .get("spec", {})
                .get("cvss_v3_severity", {})
                .get("score", 0)
                >= 7.5
            ),
        ),
    ],
)
def test_filter_selects_what_it_says(
    api: Api, findings: list[dict[str, Any]], text: str, keep: Any
) -> None:
    expected = [o["uuid"] for o in findings if keep(o)]
    got = _ids(api.all("findings", filter=text))
    assert got == sorted(expected)
    assert 0 < len(got) < len(findings)


def test_date_and_now_bounds(api: Api) -> None:
    logs = api.all("audit-logs")
    times = sorted(parse_rfc3339_us(o["meta"]["create_time"]) for o in logs)
    middle = datetime.fromtimestamp(times[len(times) // 2] / 1e6, UTC)
    stamp = middle.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    after = api.all("audit-logs", filter=f"meta.create_time >= date({stamp})")
    before = api.all("audit-logs", filter=f"meta.create_time < date({stamp})")
    assert len(after) + len(before) == len(logs)
    assert {o["uuid"] for o in after}.isdisjoint({o["uuid"] for o in before})
    now = datetime.fromisoformat(api.control("GET", "now")["now"])
    recent = api.all("audit-logs", filter="meta.create_time >= now(-72h)")
    cutoff = now - timedelta(hours=72, seconds=5)
    assert recent
    assert all(datetime.fromisoformat(o["meta"]["create_time"]) >= cutoff for o in recent)
    expected = [
        o
        for o in logs
        if datetime.fromisoformat(o["meta"]["create_time"]) >= now - timedelta(hours=71)
    ]
    assert len(recent) >= len(expected)


def test_bare_iso_date_silently_matches_nothing(api: Api) -> None:
    body = api.list("audit-logs", filter="meta.create_time >= 2020-01-01T00:00:00Z")
    assert body["list"]["objects"] == []


def test_claims_matches_and_remote_address_range(api: Api) -> None:
    logs = api.all("audit-logs", filter="spec.claims matches '.*user=jane@x509.*'")
    assert logs and all("user=jane@x509" in o["spec"]["claims"] for o in logs)
    ranged = api.all(
        "audit-logs",
        filter="spec.remote_address>='10.244.0.0' and spec.remote_address<='10.244.100.255'",
    )
    assert ranged and all(
        "10.244.0.0" <= o["spec"]["remote_address"] <= "10.244.100.255" for o in ranged
    )


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("spec.level ==", "position 13"),
        ("spec.level == X)", "position 15"),
        ("(spec.level == X", "position 16"),
        ("spec.level ~ X", "position 11"),
        ("meta.create_time > date(yesterday)", "position 24"),
        ("spec.level == X and", "position 19"),
        ("spec.summary matches 'a(b'", "position 21"),
    ],
)
def test_unparsable_filter_is_400_saying_what_and_where(api: Api, text: str, where: str) -> None:
    response = api.get("/v1/namespaces/acme/findings", filter=text)
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == 3
    assert body["details"] == []
    assert where in body["message"]
    assert re.search(r"invalid filter: .+ at position \d+ in ", body["message"])


def test_time_bounds_the_index_applies_are_not_checked_again_row_by_row() -> None:
    from tests.emulator.filters import BoolOp, Compare, Exists, parse, without_time_bounds

    t = "meta.create_time"
    only_bounds = parse(
        f"{t} >= date(2026-01-01T00:00:00Z) and {t} < date(2026-01-02T00:00:00Z)", 0
    )
    assert without_time_bounds(only_bounds, t) is None
    mixed = parse(
        f"spec.message_kind exists and {t} >= date(2026-01-01T00:00:00Z) and spec.operation == X",
        0,
    )
    rest = without_time_bounds(mixed, t)
    assert isinstance(rest, BoolOp) and [type(c) for c in rest.children] == [Exists, Compare]
    # Bounds under "or" or in parentheses are not index bounds: they stay.
    either = parse(f"{t} >= date(2026-01-01T00:00:00Z) or spec.operation == X", 0)
    assert without_time_bounds(either, t) == either


@pytest.mark.parametrize(
    ("resource", "path"),
    [
        ("finding-logs", "spec.project_uuid"),
        ("finding-logs", "spec.summary"),
        ("finding-logs", "spec.dismiss"),
        ("audit-logs", "spec.level"),
        ("authentication-logs", "spec.message_kind"),
        ("scan-results", "spec.start_time.seconds"),
    ],
)
def test_a_path_the_resource_lacks_is_400_invalid_path(api: Api, resource: str, path: str) -> None:
    """As the API does (the official SDK parses "invalid path"), from the reference schemas."""
    response = api.get(f"/v1/namespaces/acme/{resource}", filter=f"{path} exists")
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["code"] == 3 and "invalid path" in body["message"] and path in body["message"]


@pytest.mark.parametrize(
    ("resource", "path"),
    [
        ("findings", "spec.project_uuid"),
        ("finding-logs", "spec.level"),
        ("audit-logs", "spec.payload.meta.name"),  # free-form (protobuf Any): any path
        ("scan-results", "spec.environment.config.Command"),  # free-form config
        ("scan-results", "spec.versions.ref"),  # through an array
        ("authentication-logs", "spec.success"),
    ],
)
def test_a_path_the_resource_has_is_accepted(api: Api, resource: str, path: str) -> None:
    response = api.get(f"/v1/namespaces/acme/{resource}", filter=f"{path} exists", page_size=1)
    assert response.status_code == 200, response.text


def test_sorting_on_a_timestamp_field_follows_time_not_text(api: Api) -> None:
    """Texts of 0, 3 and 9 fraction digits do not sort as their instants do."""
    body = api.list(
        "scan-results", page_size=500, traverse="true", **{"sort.path": "spec.start_time"}
    )
    starts = [o["spec"]["start_time"] for o in body["list"]["objects"]]
    assert len(starts) > 10
    assert starts == sorted(starts, key=parse_rfc3339_us)
    # Within one second the widths disagree with time: "05Z" sorts after "05.5Z" as text.
    from tests.emulator.listing import _sort_key
    from tests.emulator.store import Record

    texts = ["2026-01-01T00:00:05.5Z", "2026-01-01T00:00:05Z", "2026-01-01T00:00:05.123456789Z"]
    records = [Record(str(n), "acme", 0, {"spec": {"t": t}}) for n, t in enumerate(texts)]
    ordered = [r.data()["spec"]["t"] for r in sorted(records, key=_sort_key("spec.t"))]
    assert ordered == sorted(texts, key=parse_rfc3339_us) != sorted(texts)
