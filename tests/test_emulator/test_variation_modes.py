"""The emulator's variation modes, seen over HTTP: paging, timestamps, headers, time-outs."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest

from tests.emulator.clock import parse_rfc3339_us
from tests.test_emulator.conftest import Api

Start = Callable[..., Api]
SORTED = {"sort.path": "meta.create_time", "sort.order": "SORT_ENTRY_ORDER_ASC"}


def test_sorted_without_token_links_pages_by_id_only(own_api: Start) -> None:
    api = own_api("--paging", "sorted-without-token")
    body = api.list("audit-logs", page_size=10, **SORTED)
    response = body["list"]["response"]
    assert len(body["list"]["objects"]) == 10
    assert "next_page_token" not in response
    assert response["next_page_id"] == body["list"]["objects"][-1]["uuid"]
    # page_id with a sort is still refused: the id cannot be followed sorted.
    refused = api.get("/v1/namespaces/acme/audit-logs", page_id=response["next_page_id"], **SORTED)
    assert refused.status_code == 400


def test_non_advancing_cursors_repeat_the_one_sent(own_api: Start) -> None:
    api = own_api("--paging", "non-advancing")
    first = api.list("audit-logs", page_size=10, **SORTED)["list"]["response"]
    token = first["next_page_token"]
    again = api.list("audit-logs", page_size=10, page_token=token, **SORTED)
    assert again["list"]["response"]["next_page_token"] == token
    unsorted = api.list("audit-logs", page_size=10)["list"]["response"]
    page_id = unsorted["next_page_id"]
    repeated = api.list("audit-logs", page_size=10, page_id=page_id)
    assert repeated["list"]["response"]["next_page_id"] == page_id


def test_mixed_timestamps_keep_the_instant_to_the_second(own_api: Start) -> None:
    api = own_api("--timestamps", "mixed", "--seed", "3")
    served = api.all("audit-logs")
    truth = {o["uuid"]: o for o in api.truth("audit-logs", "acme")}
    widths = set()
    zones = set()
    for obj in served:
        text = obj["meta"]["create_time"]
        match = re.fullmatch(r".{19}(?:\.(\d+))?(Z|[+-]\d\d:\d\d)", text)
        assert match, text
        widths.add(len(match.group(1) or ""))
        zones.add(match.group(2))
        exact = parse_rfc3339_us(truth[obj["uuid"]]["meta"]["create_time"])
        shown = parse_rfc3339_us(text)
        assert exact - 1_000_000 < shown <= exact
        assert shown // 1_000_000 == exact // 1_000_000
    assert widths == {0, 3, 6, 9}
    assert zones == {"Z", "+05:30", "-08:00"}


@pytest.mark.parametrize(
    ("style", "count"), [("normal", 1), ("missing", 0), ("repeated", 2), ("malformed", 1)]
)
def test_date_header_styles(own_api: Start, style: str, count: int) -> None:
    api = own_api("--date-header", style)
    response = api.get("/v1/namespaces/acme/projects")
    assert response.status_code == 200
    dates = response.raw.headers.getlist("Date")
    assert len(dates) == count
    if style == "malformed":
        assert "GMT" not in dates[0]


@pytest.mark.parametrize(
    ("style", "pattern"),
    [
        ("seconds", r"^0\.25$"),
        ("http-date", r"GMT$"),
        ("missing", None),
        ("repeated", r"^0\.25$"),
        ("malformed", r"^[a-z-]+$"),
    ],
)
def test_retry_after_styles(own_api: Start, style: str, pattern: str | None) -> None:
    api = own_api("--fault", "429:1.0", "--retry-after", "0.25", "--retry-after-header", style)
    response = api.get("/v1/namespaces/acme/projects")
    assert response.status_code == 429
    values = response.raw.headers.getlist("Retry-After")
    if pattern is None:
        assert values == []
        return
    assert len(values) == (2 if style == "repeated" else 1)
    assert all(re.search(pattern, value) for value in values)


def test_ignore_request_timeout_answers_late_instead_of_504(own_api: Start) -> None:
    flags = ("--row-cost-us", "6000", "--audit-logs", "600")
    strict = own_api(*flags)
    late = own_api(*flags, "--ignore-request-timeout")
    headers = {"Request-Timeout": "500ms"}
    assert strict.get("/v1/namespaces/acme/audit-logs", headers).status_code == 504
    response = late.get("/v1/namespaces/acme/audit-logs", headers)
    assert response.status_code == 200
    assert response.elapsed.total_seconds() >= 0.5


def read_by_token(api: Api, resource: str, page_size: int, **params: Any) -> list[dict[str, Any]]:
    """Every object of a sorted listing, following next_page_token past empty pages."""
    out: list[dict[str, Any]] = []
    token = None
    for _ in range(10_000):
        extra = {"page_token": token} if token else {}
        body = api.list(resource, page_size=page_size, **SORTED, **params, **extra)
        out.extend(body["list"]["objects"])
        token = body["list"]["response"].get("next_page_token")
        if not token:
            return out
    raise AssertionError("paging did not end")


def count_of(api: Api, resource: str, **params: Any) -> int:
    body = api.list(resource, count="true", **params)
    return int(body["count_response"]["count"])


@pytest.mark.parametrize(
    "mode",
    [
        "normal",
        "sorted-without-token",
        "non-advancing",
        "empty-pages",
        "overlapping",
        "missing-row-once",
        "missing-row-always",
        "sorted-first-missing",
    ],
)
def test_every_mode_counts_every_list_exactly(own_api: Start, mode: str) -> None:
    """The count is the truth in every paging mode, for the active store and the archive."""
    api = own_api("--paging", mode, "--seed", "4", "--audit-logs", "300")
    truth = api.truth("audit-logs", "acme")
    archived = count_of(api, "audit-logs/archived", filter="spec.message_kind exists")
    active = count_of(api, "audit-logs")
    assert archived > 0
    assert active > 0
    assert active + archived == len(truth)
    for resource in ("projects", "findings", "scan-results", "finding-logs"):
        assert count_of(api, resource) == len(api.truth(resource, "acme")), resource


def test_empty_pages_carry_a_token_and_hide_nothing(own_api: Start) -> None:
    api = own_api("--paging", "empty-pages", "--seed", "4", "--audit-logs", "300")
    first = api.list("audit-logs", page_size=20, **SORTED)
    assert first["list"]["objects"] == []
    assert first["list"]["response"]["next_page_token"]
    served = read_by_token(api, "audit-logs", 20)
    assert len(served) == count_of(api, "audit-logs")
    assert len({o["uuid"] for o in served}) == len(served)


def test_overlapping_pages_repeat_rows_and_miss_none(own_api: Start) -> None:
    api = own_api("--paging", "overlapping", "--seed", "4", "--audit-logs", "300")
    served = read_by_token(api, "audit-logs", 20)
    distinct = {o["uuid"] for o in served}
    assert len(distinct) == count_of(api, "audit-logs")
    assert len(served) > len(distinct)
    unsorted = api.all("audit-logs")
    assert {o["uuid"] for o in unsorted} == distinct


def test_a_row_missing_once_comes_back_when_read_again(own_api: Start) -> None:
    api = own_api("--paging", "missing-row-once", "--seed", "4", "--audit-logs", "300")
    first = read_by_token(api, "audit-logs", 20)
    again = read_by_token(api, "audit-logs", 20)
    total = count_of(api, "audit-logs")
    assert len(first) == total - 1
    assert len(again) == total


def test_a_row_missing_always_is_counted_but_never_listed(own_api: Start) -> None:
    api = own_api("--paging", "missing-row-always", "--seed", "4", "--audit-logs", "300")
    truth = {o["uuid"] for o in api.truth("audit-logs", "acme")}
    listed = {o["uuid"] for o in read_by_token(api, "audit-logs", 20)}
    listed |= {o["uuid"] for o in api.all("audit-logs/archived", filter="spec.message_kind exists")}
    assert len(truth - listed) == 1
    assert {o["uuid"] for o in api.all("audit-logs")} <= listed


def test_a_sorted_first_page_without_its_first_row(own_api: Start) -> None:
    """The oldest record is counted and listed unsorted, but a sorted first page skips it."""
    api = own_api("--paging", "sorted-first-missing", "--seed", "4", "--audit-logs", "300")
    oldest = api.list("audit-logs", page_size=20, **SORTED)["list"]["objects"]
    served = read_by_token(api, "audit-logs", 20)
    unsorted = {o["uuid"] for o in api.all("audit-logs")}
    assert len(unsorted) == count_of(api, "audit-logs") == len(served) + 1
    (missing,) = unsorted - {o["uuid"] for o in served}
    assert len(oldest) == 19
    times = [o["meta"]["create_time"] for o in served]
    assert times == sorted(times)
    gone = api.list("audit-logs", filter=f'uuid == "{missing}"')["list"]["objects"]
    assert gone[0]["meta"]["create_time"] <= times[0]
    masked = api.list("audit-logs", page_size=5, mask="uuid,meta.create_time", **SORTED)
    assert all(set(o) == {"uuid", "meta"} for o in masked["list"]["objects"])


def test_date_header_clock_follows_the_emulators_own_clock(own_api: Start) -> None:
    api = own_api("--date-header", "clock", "--now", "2025-06-01T00:00:00Z")
    response = api.get("/v1/namespaces/acme/projects")
    date = response.headers["Date"]
    assert date.startswith("Sun, 01 Jun 2025 00:0"), date
