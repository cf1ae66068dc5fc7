"""Helpers for talking to the emulator over real HTTP."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests

from tests.support.emulator_client import all_objects
from tests.support.servers import ServerProcess

KEY, SECRET = "demo-key", "demo-secret"


@dataclass
class Api:
    """A logged-in client of one emulator."""

    url: str
    session: requests.Session
    token: str = ""

    def login(self, key: str = KEY, secret: str = SECRET) -> requests.Response:
        response = self.session.post(
            f"{self.url}/v1/auth/api-key", json={"key": key, "secret": secret}
        )
        if response.status_code == 200:
            self.token = response.json()["token"]
        return response

    def get(
        self, path: str, headers: dict[str, str] | None = None, **params: Any
    ) -> requests.Response:
        query = {f"list_parameters.{k}": v for k, v in params.items()}
        return self.session.get(
            f"{self.url}{path}",
            params=query,
            headers={"Authorization": f"Bearer {self.token}", **(headers or {})},
            timeout=30,
        )

    def list(self, resource: str, namespace: str = "acme", **params: Any) -> dict[str, Any]:
        response = self.get(f"/v1/namespaces/{namespace}/{resource}", **params)
        assert response.status_code == 200, response.text
        return response.json()

    def all(self, resource: str, namespace: str = "acme", **params: Any) -> list[dict[str, Any]]:
        """Every object, paging with page_id."""
        out: list[dict[str, Any]] = []
        page_id = None
        while True:
            extra = {"page_id": page_id} if page_id else {}
            body = self.list(resource, namespace, page_size=500, **params, **extra)
            out.extend(body["list"]["objects"])
            page_id = body["list"]["response"].get("next_page_id")
            if not page_id:
                return out

    def control(self, method: str, name: str, **body: Any) -> Any:
        response = self.session.request(method, f"{self.url}/_emulator/{name}", json=body or None)
        assert response.status_code == 200, response.text
        return response.json()

    def truth(self, resource: str, namespace: str | None = None) -> list[dict[str, Any]]:
        """Every object of a resource the emulator holds, or only those in ``namespace``."""
        objects = all_objects(self.url, resource)
        if namespace is None:
            return objects
        return [o for o in objects if o["tenant_meta"]["namespace"] == namespace]


def connect(server: ServerProcess) -> Api:
    api = Api(server.url, requests.Session())
    assert api.login().status_code == 200
    return api


@pytest.fixture
def api(emulator: ServerProcess) -> Iterator[Api]:
    """A logged-in client of the shared, never-mutated emulator."""
    client = connect(emulator)
    yield client
    client.session.close()


@pytest.fixture
def own_api(emulator_factory: Callable[..., ServerProcess]) -> Callable[..., Api]:
    """Start a private emulator with flags and return a logged-in client."""

    def start(*flags: str) -> Api:
        return connect(emulator_factory(*flags))

    return start
