"""List parameters: paging, page size, sort, mask, traverse, count, ci_run_uuid, get."""

from __future__ import annotations

from typing import Any

import pytest

from tests.test_emulator.conftest import Api


def _active_audit_uuids(api: Api, namespace: str = "acme") -> list[str]:
    return [o["uuid"] for o in api.all("audit-logs", namespace)]


def test_page_id_paging_returns_everything_once_in_uuid_order(api: Api) -> None:
    truth = api.truth("findings", "acme")
    seen: list[str] = []
    page_id = None
    while True:
        extra = {"page_id": page_id} if page_id else {}
        body = api.list("findings", page_size=7, **extra)
        seen.extend(o["uuid"] for o in body["list"]["objects"])
        page_id = body["list"]["response"].get("next_page_id")
        if not page_id:
            assert "next_page_token" not in body["list"]["response"]
            break
    assert seen == sorted(o["uuid"] for o in truth)


def test_page_token_paging_matches_page_id_paging(api: Api) -> None:
    expected = _active_audit_uuids(api)
    seen: list[str] = []
    token: int | None = None
    while True:
        extra = {"page_token": token} if token is not None else {}
        body = api.list("audit-logs", page_size=333, **extra)
        seen.extend(o["uuid"] for o in body["list"]["objects"])
        token = body["list"]["response"].get("next_page_token")
        if token is None:
            break
    assert seen == expected
    assert len(seen) > 333


def test_default_page_size_is_100_and_max_is_500(api: Api) -> None:
    assert len(api.list("audit-logs")["list"]["objects"]) == 100
    assert len(api.list("audit-logs", page_size=500)["list"]["objects"]) == 500
    response = api.get("/v1/namespaces/acme/audit-logs", page_size=501)
    assert response.status_code == 400
    assert response.json()["code"] == 3
    assert "page_size" in response.json()["message"]


@pytest.mark.parametrize(
    ("params", "word"),
    [
        ({"page_size": "ten"}, "page_size"),
        ({"page_token": "abc"}, "page_token"),
        ({"sort.order": "UP"}, "sort.order"),
        ({"traverse": "maybe"}, "traverse"),
    ],
)
def test_bad_list_parameters_are_400_naming_the_parameter(
    api: Api, params: dict[str, Any], word: str
) -> None:
    response = api.get("/v1/namespaces/acme/findings", **params)
    assert response.status_code == 400
    assert word in response.json()["message"]
    assert set(response.json()) == {"code", "message", "details"}


def test_page_id_with_sort_is_400(api: Api) -> None:
    response = api.get(
        "/v1/namespaces/acme/findings", page_id="0" * 24, **{"sort.path": "meta.create_time"}
    )
    assert response.status_code == 400
    assert response.json()["message"] == "page id cannot be provided with sort method"


def _level_key(o: dict[str, Any]) -> str:
    return o["spec"]["level"]


def test_sort_asc_and_desc_are_stable_with_uuid_ties(api: Api) -> None:
    truth = api.truth("findings", "acme")
    for order, reverse in (("SORT_ENTRY_ORDER_ASC", False), ("SORT_ENTRY_ORDER_DESC", True)):
        got: list[dict[str, Any]] = []
        token = None
        while True:
            extra = {"page_token": token} if token is not None else {}
            body = api.list(
                "findings", page_size=5, **{"sort.path": "spec.level", "sort.order": order}, **extra
            )
            got.extend(body["list"]["objects"])
            assert "next_page_id" not in body["list"]["response"]
            token = body["list"]["response"].get("next_page_token")
            if token is None:
                break
        expected = sorted(sorted(truth, key=lambda o: o["uuid"]), key=_level_key, reverse=reverse)
        assert [o["uuid"] for o in got] == [o["uuid"] for o in expected]


def test_mask_returns_only_the_requested_paths(api: Api) -> None:
    body = api.list("findings", mask="uuid,spec.level,context.type", page_size=3)
    for obj in body["list"]["objects"]:
        assert set(obj) == {"uuid", "spec", "context"}
        assert set(obj["spec"]) == {"level"}
        assert set(obj["context"]) == {"type"}


def test_traverse_includes_child_namespaces(api: Api) -> None:
    plain = {o["tenant_meta"]["namespace"] for o in api.all("projects")}
    deep = {o["tenant_meta"]["namespace"] for o in api.all("projects", traverse="true")}
    assert plain == {"acme"}
    assert deep == {"acme", "acme.platform", "acme.security"}
    child = {o["tenant_meta"]["namespace"] for o in api.all("projects", "acme.platform")}
    assert child == {"acme.platform"}


def test_count_matches_the_objects(api: Api) -> None:
    for resource in ("findings", "scan-results", "projects", "finding-logs", "audit-logs"):
        count = api.list(resource, count="true", traverse="true")["count_response"]["count"]
        assert count == len(api.all(resource, traverse="true")) > 0
    filtered = api.list("findings", count="true", filter="spec.level==FINDING_LEVEL_CRITICAL")
    critical = [o for o in api.all("findings") if o["spec"]["level"] == "FINDING_LEVEL_CRITICAL"]
    assert filtered["count_response"]["count"] == len(critical) > 0


def test_ci_run_uuid_selects_one_pr_scan(api: Api) -> None:
    pr = next(o for o in api.all("scan-results") if o["context"]["type"] == "CONTEXT_TYPE_CI_RUN")
    run = pr["context"]["id"]
    scans = api.all("scan-results", ci_run_uuid=run)
    assert [s["uuid"] for s in scans] == [pr["uuid"]]
    findings = api.all("findings", ci_run_uuid=run)
    assert findings and all(f["context"]["id"] == run for f in findings)


def test_get_one_object_and_404(api: Api) -> None:
    project = api.all("projects")[0]
    response = api.get(f"/v1/namespaces/acme/projects/{project['uuid']}")
    assert response.status_code == 200
    assert response.json() == project
    missing = api.get("/v1/namespaces/acme/projects/" + "f" * 24)
    assert missing.status_code == 404
    assert missing.json()["code"] == 5
    elsewhere = api.get(f"/v1/namespaces/acme.platform/projects/{project['uuid']}")
    assert elsewhere.status_code == 404


def test_unknown_resource_is_404(api: Api) -> None:
    assert api.get("/v1/namespaces/acme/widgets").status_code == 404
