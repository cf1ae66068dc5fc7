"""The 30-day active/archive split, the cost model and deadlines."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta

from tests.test_emulator.conftest import Api

NOW = "2025-06-01T00:00:00Z"


def test_active_holds_last_30_days_and_archive_the_rest(own_api: Callable[..., Api]) -> None:
    api = own_api("--now", NOW, "--audit-logs", "3000")
    now = datetime.fromisoformat(api.control("GET", "now")["now"])
    boundary = now - timedelta(days=30)
    active = api.all("audit-logs")
    archived = api.all("audit-logs/archived", filter="spec.message_kind exists")
    assert active and archived
    assert all(
        datetime.fromisoformat(o["meta"]["create_time"]) >= boundary - timedelta(seconds=5)
        for o in active
    )
    assert all(
        datetime.fromisoformat(o["meta"]["create_time"]) < boundary + timedelta(seconds=5)
        for o in archived
    )
    truth = [o["uuid"] for o in api.truth("audit-logs", "acme")]
    assert sorted(o["uuid"] for o in active + archived) == truth
    oldest = min(datetime.fromisoformat(o["meta"]["create_time"]) for o in archived)
    assert now - oldest > timedelta(days=80)
    # the boundary moves with the clock: advancing 10 days archives 10 more days of logs
    api.control("POST", "advance", seconds=10 * 86400)
    api.login()  # ten days outlive the token
    assert len(api.all("audit-logs")) < len(active)


def test_query_over_deadline_is_504_after_the_deadline(own_api: Callable[..., Api]) -> None:
    api = own_api("--row-cost-us", "1000", "--audit-logs", "2000")
    started = time.monotonic()
    response = api.get("/v1/namespaces/acme/audit-logs", headers={"Request-Timeout": "0.3s"})
    elapsed = time.monotonic() - started
    assert response.status_code == 504
    assert response.json() == {"code": 4, "message": "context deadline exceeded", "details": []}
    assert elapsed >= 0.3
    # narrowing by time scans fewer rows and fits in the same deadline
    now = api.control("GET", "now")["now"]
    narrow = api.get(
        "/v1/namespaces/acme/audit-logs",
        headers={"Request-Timeout": "2"},
        filter=f"meta.create_time >= date({now}) and meta.create_time < now(1h)",
    )
    assert narrow.status_code == 200


def test_latency_grows_with_rows_scanned(own_api: Callable[..., Api]) -> None:
    api = own_api("--row-cost-us", "200", "--audit-logs", "3000", "--projects", "2")
    started = time.monotonic()
    assert api.get("/v1/namespaces/acme/projects").status_code == 200
    small = time.monotonic() - started
    rows_before = api.control("GET", "stats")["rows_scanned"]
    started = time.monotonic()
    assert api.get("/v1/namespaces/acme/audit-logs", traverse="true").status_code == 200
    big = time.monotonic() - started
    rows = api.control("GET", "stats")["rows_scanned"] - rows_before
    assert rows >= 800  # about a third of 3000 logs are in the active 30 days
    assert big >= rows * 200e-6 * 0.95
    assert big > small * 3


def test_default_deadline_applies_without_header(own_api: Callable[..., Api]) -> None:
    api = own_api("--row-cost-us", "1000", "--default-deadline", "0.2")
    response = api.get("/v1/namespaces/acme/audit-logs")
    assert response.status_code == 504
    assert response.json()["code"] == 4


def test_archived_without_message_kind_costs_more(own_api: Callable[..., Api]) -> None:
    api = own_api("--row-cost-us", "100", "--archive-cost-multiplier", "50", "--now", NOW)
    headers = {"Request-Timeout": "1"}
    with_kind = api.get(
        "/v1/namespaces/acme/audit-logs/archived",
        headers=headers,
        filter="spec.message_kind=='internal.endor.ai.endor.v1.Policy'",
    )
    assert with_kind.status_code == 200
    assert {o["spec"]["message_kind"] for o in with_kind.json()["list"]["objects"]} == {
        "internal.endor.ai.endor.v1.Policy"
    }
    without = api.get("/v1/namespaces/acme/audit-logs/archived", headers=headers)
    assert without.status_code == 504


def test_bad_request_timeout_header_is_400(api: Api) -> None:
    response = api.get("/v1/namespaces/acme/projects", headers={"Request-Timeout": "soon"})
    assert response.status_code == 400
    assert "Request-Timeout" in response.json()["message"]
