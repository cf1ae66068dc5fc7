"""The emulator's variation modes, seen over HTTP: paging, timestamps, headers, time-outs."""

from __future__ import annotations

import re
from collections.abc import Callable

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
