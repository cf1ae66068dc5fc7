"""Each injected fault, by flag and by control endpoint, and the per-token rate limit."""

from __future__ import annotations

import http.client
import json
import socket
import time
from collections.abc import Callable
from datetime import UTC, datetime
from urllib.parse import urlsplit

import pytest
import requests
from hypothesis import given
from hypothesis import strategies as st

from tap_endorlabs.headers import retry_after_seconds
from tests.emulator.faults import retry_after_header
from tests.test_emulator.conftest import Api

PATH = "/v1/namespaces/acme/audit-logs"


@pytest.mark.parametrize(
    ("kind", "status", "code"),
    [("429", 429, 8), ("500", 500, 13), ("503", 503, 14), ("504", 504, 4)],
)
def test_status_faults_fire_the_given_times(
    own_api: Callable[..., Api], kind: str, status: int, code: int
) -> None:
    api = own_api()
    api.control(
        "POST", "faults", faults=[{"type": kind, "times": 2, "path": "audit-logs"}], retry_after=3
    )
    for _ in range(2):
        response = api.get(PATH)
        assert response.status_code == status
        assert response.json()["code"] == code
        if kind == "429":
            assert response.headers["Retry-After"] == "3"
    assert api.get(PATH).status_code == 200
    assert api.get("/v1/namespaces/acme/projects").status_code == 200
    stats = api.control("GET", "stats")
    assert stats["faults_injected"] == 2
    assert stats["by_status"][str(status)] == 2


def test_fault_flag_with_rate_is_seeded_and_skips_auth(own_api: Callable[..., Api]) -> None:
    api = own_api("--fault", "503:0.5", "--fault-seed", "3")
    statuses = [api.get(PATH).status_code for _ in range(40)]
    assert 5 < statuses.count(503) < 35
    assert set(statuses) == {200, 503}
    assert all(api.login().status_code == 200 for _ in range(10))  # auth only when named
    again = own_api("--fault", "503:0.5", "--fault-seed", "3")
    assert [again.get(PATH).status_code for _ in range(40)] == statuses


def test_auth_endpoint_faulted_when_named(own_api: Callable[..., Api]) -> None:
    api = own_api()
    api.control("POST", "faults", faults=[{"type": "503", "times": 1, "path": "/v1/auth"}])
    assert api.login().status_code == 503
    assert api.login().status_code == 200


def test_reset_cuts_the_body_and_resets_the_connection(own_api: Callable[..., Api]) -> None:
    api = own_api("--fault", "reset:x1:audit-logs")
    with pytest.raises(
        (requests.exceptions.ConnectionError, requests.exceptions.ChunkedEncodingError)
    ):
        api.get(PATH)
    assert api.get(PATH).status_code == 200
    assert api.control("GET", "stats")["faults_by_type"] == {"reset": 1}


def test_truncate_sends_a_cut_json_body(own_api: Callable[..., Api]) -> None:
    api = own_api("--fault", "truncate:x1")
    response = api.get(PATH)
    assert response.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        json.loads(response.content)
    assert api.get(PATH).json()["list"]["objects"]


def test_slow_delays_the_answer(own_api: Callable[..., Api]) -> None:
    api = own_api("--fault", "slow:x1", "--slow-delay", "0.5")
    started = time.monotonic()
    assert api.get(PATH).status_code == 200
    assert time.monotonic() - started >= 0.5
    started = time.monotonic()
    assert api.get(PATH).status_code == 200
    assert time.monotonic() - started < 0.5


def test_delete_clears_faults(own_api: Callable[..., Api]) -> None:
    api = own_api("--fault", "500:1.0")
    assert api.get(PATH).status_code == 500
    assert api.control("DELETE", "faults") == {"faults": []}
    assert api.get(PATH).status_code == 200


def test_rate_limit_per_token(own_api: Callable[..., Api]) -> None:
    api = own_api("--rate-limit", "5", "--retry-after", "2")
    statuses = [api.get("/v1/namespaces/acme/projects") for _ in range(12)]
    limited = [r for r in statuses if r.status_code == 429]
    assert limited
    assert limited[0].json()["code"] == 8
    assert float(limited[0].headers["Retry-After"]) >= 2
    other = Api(api.url, requests.Session())
    other.login()
    assert other.get("/v1/namespaces/acme/projects").status_code == 200  # its own bucket


def test_bad_fault_requests_are_refused(own_api: Callable[..., Api]) -> None:
    api = own_api()
    response = api.session.post(f"{api.url}/_emulator/faults", json={"faults": [{"type": "418"}]})
    assert response.status_code == 400
    assert "type" in response.json()["message"]


def test_keep_alive_survives_many_requests(api: Api) -> None:
    parts = urlsplit(api.url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    for _ in range(5):
        conn.request(
            "GET",
            PATH + "?list_parameters.page_size=1",
            headers={"Authorization": f"Bearer {api.token}"},
        )
        response = conn.getresponse()
        assert response.status == 200
        assert json.loads(response.read())["list"]["objects"]
    sock = conn.sock
    assert isinstance(sock, socket.socket)
    conn.close()


@given(st.floats(min_value=0, max_value=1000, allow_nan=False))
def test_retry_after_header_keeps_fractions_the_tap_reads(seconds: float) -> None:
    """Fractional waits are sent as fractions (rounded up to the millisecond), whole as ints."""
    text = retry_after_header(seconds)
    now = datetime(2026, 1, 1, tzinfo=UTC)
    read = retry_after_seconds(text, now, 10_000.0)
    assert read is not None
    assert seconds <= read < seconds + 0.001 + 1e-9
    assert ("." in text) == (read != int(read))


def test_a_fractional_retry_after_is_sent_as_such(own_api: Callable[..., Api]) -> None:
    api = own_api("--fault", "429:x1", "--retry-after", "0.05")
    assert api.get(PATH).headers["Retry-After"] == "0.05"
