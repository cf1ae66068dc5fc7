"""The namespaces resource and ``/_emulator/add-namespace`` (backdated data)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from tests.test_emulator.conftest import Api


def _created(obj: dict) -> datetime:
    return datetime.fromisoformat(obj["meta"]["create_time"])


def test_namespaces_list_children_with_the_api_shape(api: Api) -> None:
    children = api.all("namespaces")
    assert sorted(n["spec"]["full_name"] for n in children) == ["acme.platform", "acme.security"]
    for namespace in children:
        assert namespace["meta"]["kind"] == "Namespace"
        assert namespace["tenant_meta"]["namespace"] == "acme"
        assert namespace["spec"]["full_name"] == f"acme.{namespace['meta']['name']}"
        assert namespace["meta"]["parent_uuid"] and namespace["uuid"]
    assert api.all("namespaces", traverse="true") == children
    # Same paging, count and 403/404 rules as every other resource.
    assert api.list("namespaces", count="true")["count_response"]["count"] == 2
    assert api.all("namespaces", "acme.platform") == []
    assert api.get("/v1/namespaces/other-corp/namespaces").status_code == 403
    assert api.get("/v1/namespaces/nope/namespaces").status_code == 404


def test_traverse_lists_grandchildren_under_their_parent(own_api: Callable[..., Api]) -> None:
    api = own_api("--child-namespaces", "platform,platform.build")
    direct = {n["spec"]["full_name"] for n in api.all("namespaces")}
    deep = {n["spec"]["full_name"] for n in api.all("namespaces", traverse="true")}
    assert direct == {"acme.platform"}
    assert deep == {"acme.platform", "acme.platform.build"}
    (grandchild,) = api.all("namespaces", "acme.platform")
    (parent,) = api.all("namespaces")
    assert grandchild["meta"]["parent_uuid"] == parent["uuid"]


def test_add_namespace_serves_backdated_data(own_api: Callable[..., Api]) -> None:
    api = own_api("--seed", "2")
    before = {r: {o["uuid"] for o in api.truth(r)} for r in ("audit-logs", "scan-results")}
    body = {"name": "acme.newteam", "audit_logs": 12, "scans": 2, "backdate_days": 40}
    response = api.session.post(f"{api.url}/_emulator/add-namespace", json=body)
    assert response.status_code == 200, response.text
    assert response.json()["namespace"] == "acme.newteam"
    names = {n["spec"]["full_name"] for n in api.all("namespaces", traverse="true")}
    assert "acme.newteam" in names
    now = datetime.now(UTC)
    for resource, count in (("audit-logs", 12), ("scan-results", 2), ("projects", 1)):
        objects = api.all(resource, "acme.newteam")
        if resource == "audit-logs":  # 40 days back: all in the archive
            assert objects == []
            objects = api.all("audit-logs/archived", "acme.newteam")
        assert len(objects) == count, resource
        assert all(now - _created(o) > timedelta(days=39) for o in objects), resource
    findings = api.all("findings", "acme.newteam")
    assert findings and len(api.all("finding-logs", "acme.newteam")) == len(findings)
    # Inserted in time order: a sorted time-range query still finds them, paged.
    added = {o["uuid"] for o in api.truth("scan-results")} - before["scan-results"]
    assert added == {o["uuid"] for o in api.all("scan-results", "acme.newteam")}
    sort = {"sort.path": "meta.create_time"}
    first = api.list("audit-logs/archived", "acme.newteam", page_size=5, **sort)
    token = first["list"]["response"]["next_page_token"]
    rest = api.list("audit-logs/archived", "acme.newteam", page_size=5, page_token=token, **sort)
    paged = first["list"]["objects"] + rest["list"]["objects"]
    assert [_created(o) for o in paged] == sorted(_created(o) for o in paged)
    assert len({o["uuid"] for o in paged}) == 10
    truth = api.truth("audit-logs")
    assert [_created(o) for o in truth] == sorted(_created(o) for o in truth)
    assert len(truth) == len(before["audit-logs"]) + 12


def test_add_namespace_refuses_bad_requests(api: Api) -> None:
    for body in (
        {"name": "other.team"},
        {"name": "acme.platform"},
        {"name": "acme.x", "scans": -1},
        {"name": "acme.x", "audit_logs": "many"},
    ):
        response = api.session.post(f"{api.url}/_emulator/add-namespace", json=body)
        assert response.status_code == 400, body


def test_deny_namespace_list_refuses_only_the_namespaces_list(own_api: Callable[..., Api]) -> None:
    api = own_api("--deny-namespace-list")
    assert api.get("/v1/namespaces/acme/namespaces").status_code == 403
    assert api.get("/v1/namespaces/acme/projects").status_code == 200
