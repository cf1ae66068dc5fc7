"""Talk to the test servers' JSON endpoints and read the emulator's ground truth.

One client for the tests, the demo and the benchmarks' checks, so that what
"the tenant's data" means is decided once.  ``call_json`` serves every small
JSON-over-HTTP call the tests make: the emulator's control endpoints
(``/_emulator/...``) and API, and the S3 fault proxy's (``/_proxy/...``).
"""

from __future__ import annotations

import json
import urllib.request
from typing import Any

from tests.support.servers import ServerProcess

TENANT = "acme"


def call_json(
    server: ServerProcess | str, method: str, path: str, body: Any = None, timeout: float = 60
) -> Any:
    """Send ``body`` as JSON to ``path`` on a server (or its URL); return the decoded answer.

    An empty answer is None; an HTTP error status raises ``urllib.error.HTTPError``.
    """
    url = server if isinstance(server, str) else server.url
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        f"{url}{path}", data=data, method=method, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.loads(response.read() or b"null")


def readable_by_key(namespace: str, tenant: str = TENANT) -> bool:
    """Whether the emulator's key may read a namespace: the tenant and its children."""
    return namespace == tenant or namespace.startswith(f"{tenant}.")


def all_objects(server: ServerProcess | str, resource: str) -> list[dict[str, Any]]:
    """Every object of a resource the emulator holds, in every namespace."""
    objects: list[dict[str, Any]] = call_json(server, "GET", f"/_emulator/objects/{resource}")[
        "objects"
    ]
    return objects


def ground_truth(server: ServerProcess | str, resource: str) -> list[dict[str, Any]]:
    """Every object of a resource in the tenant's namespaces (children included)."""
    return [
        o for o in all_objects(server, resource) if readable_by_key(o["tenant_meta"]["namespace"])
    ]
