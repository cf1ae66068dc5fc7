"""Token exchange, expiry, and the 401/403/404 answers."""

from __future__ import annotations

from collections.abc import Callable

import requests

from tests.emulator.clock import parse_rfc3339_us
from tests.test_emulator.conftest import Api


def test_exchange_returns_token_and_expiration(api: Api) -> None:
    body = api.login().json()
    assert body["token"]
    assert parse_rfc3339_us(body["expirationTime"]) > 0
    assert api.get("/v1/namespaces/acme/projects").status_code == 200


def test_bad_key_or_secret_is_401(api: Api) -> None:
    for key, secret in (("demo-key", "wrong"), ("wrong", "demo-secret")):
        response = api.login(key, secret)
        assert response.status_code == 401
        assert response.json()["code"] == 16
        assert "demo-secret" not in response.text


def test_missing_or_unknown_token_is_401(api: Api) -> None:
    bare = requests.get(f"{api.url}/v1/namespaces/acme/projects", timeout=10)
    assert bare.status_code == 401
    api.token = "not-a-token"
    assert api.get("/v1/namespaces/acme/projects").json()["code"] == 16


def test_token_expires_with_the_clock(own_api: Callable[..., Api]) -> None:
    api = own_api("--token-ttl", "3600")
    assert api.get("/v1/namespaces/acme/projects").status_code == 200
    api.control("POST", "advance", seconds=3599)
    assert api.get("/v1/namespaces/acme/projects").status_code == 200
    api.control("POST", "advance", seconds=2)
    response = api.get("/v1/namespaces/acme/projects")
    assert response.status_code == 401
    assert response.json() == {"code": 16, "message": "token expired", "details": []}
    api.login()
    assert api.get("/v1/namespaces/acme/projects").status_code == 200


def test_expire_tokens_endpoint(own_api: Callable[..., Api]) -> None:
    api = own_api()
    api.control("POST", "expire-tokens")
    assert api.get("/v1/namespaces/acme/projects").status_code == 401
    api.login()
    assert api.get("/v1/namespaces/acme/projects").status_code == 200


def test_forbidden_and_unknown_namespaces(api: Api) -> None:
    forbidden = api.get("/v1/namespaces/other-corp/audit-logs")
    assert forbidden.status_code == 403
    assert forbidden.json()["code"] == 7
    unknown = api.get("/v1/namespaces/no-such-ns/audit-logs")
    assert unknown.status_code == 404
    assert unknown.json()["code"] == 5
    assert api.get("/v1/namespaces/acme.platform/projects").status_code == 200


def test_custom_credentials_and_namespace(emulator_factory) -> None:
    server = emulator_factory(
        "--api-key", "k2", "--api-secret", "s2", "--namespace", "globex", "--child-namespaces", "eu"
    )
    api = Api(server.url, requests.Session())
    assert api.login().status_code == 401
    assert api.login("k2", "s2").status_code == 200
    body = api.list("projects", "globex", traverse="true")
    namespaces = {o["tenant_meta"]["namespace"] for o in body["list"]["objects"]}
    assert namespaces == {"globex", "globex.eu"}
    assert api.get("/v1/namespaces/acme/projects").status_code == 404
