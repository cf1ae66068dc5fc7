"""The ``/_emulator/*`` control endpoints tests use to steer and inspect the emulator."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from tests.emulator.clock import format_us
from tests.emulator.errors import NOT_FOUND, UNIMPLEMENTED, ApiError, invalid
from tests.emulator.faults import rule_from_json
from tests.emulator.store import RESOURCES

if TYPE_CHECKING:
    from tests.emulator.server import App


def _json_body(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body or b"{}")
    except ValueError:
        raise invalid("control request body is not valid JSON") from None
    if not isinstance(data, dict):
        raise invalid("control request body must be a JSON object")
    return data


def handle(app: App, method: str, path: str, body: bytes) -> bytes:
    """Answer one control request (no auth, never faulted)."""
    name = path.removeprefix("/_emulator/").rstrip("/")
    if name == "health" and method == "GET":
        return b'{"ok": true}'
    if name == "stats" and method == "GET":
        return json.dumps(app.stats.snapshot(app.faults)).encode()
    if name == "faults":
        return _faults(app, method, body)
    if name == "expire-tokens" and method == "POST":
        return json.dumps({"expired": app.tokens.expire_all()}).encode()
    if name == "advance" and method == "POST":
        return _advance(app, _json_body(body))
    if name == "add-namespace" and method == "POST":
        return _add_namespace(app, _json_body(body))
    if name == "complete-running-scans" and method == "POST":
        with app.store.lock:
            completed = app.generator.complete_running_scans(app.clock.now_us())
        return json.dumps({"completed": completed}).encode()
    if name == "now" and method == "GET":
        return json.dumps({"now": format_us(app.clock.now_us())}).encode()
    if name.startswith("objects/") and method == "GET":
        resource = name.removeprefix("objects/")
        if resource not in RESOURCES:
            raise ApiError(
                NOT_FOUND, f"unknown resource {resource!r}; one of {', '.join(RESOURCES)}"
            )
        with app.store.lock:
            parts = [record.json() for record in app.store.tables[resource]]
        return b'{"objects":[' + b",".join(parts) + b"]}"
    if name in (
        "health",
        "stats",
        "faults",
        "expire-tokens",
        "advance",
        "add-namespace",
        "complete-running-scans",
        "now",
    ):
        raise ApiError(UNIMPLEMENTED, f"method {method} not allowed on {path}")
    raise ApiError(NOT_FOUND, f"unknown control endpoint {path}")


def _faults(app: App, method: str, body: bytes) -> bytes:
    if method == "GET":
        return json.dumps({"faults": app.faults.describe()}).encode()
    if method == "DELETE":
        app.faults.replace([])
        return json.dumps({"faults": []}).encode()
    if method != "POST":
        raise ApiError(UNIMPLEMENTED, f"method {method} not allowed on /_emulator/faults")
    data = _json_body(body)
    items = data.get("faults", [])
    if not isinstance(items, list):
        raise invalid("'faults' must be a list")
    try:
        rules = [rule_from_json(item) for item in items]
        seed = data.get("seed")
        retry_after = data.get("retry_after")
        slow_delay = data.get("slow_delay")
        app.faults.replace(
            rules,
            seed=int(seed) if seed is not None else None,
            retry_after=float(retry_after) if retry_after is not None else None,
            slow_delay=float(slow_delay) if slow_delay is not None else None,
        )
    except (TypeError, ValueError) as exc:
        raise invalid(str(exc)) from None
    return json.dumps({"faults": app.faults.describe()}).encode()


def _advance(app: App, data: dict[str, Any]) -> bytes:
    try:
        seconds = float(data.get("seconds", 0))
        audit_logs = int(data.get("audit_logs", 0))
        scans = int(data.get("scans", 0))
        authentication_logs = int(data.get("authentication_logs", 0))
    except (TypeError, ValueError):
        raise invalid(
            "advance takes numbers: seconds, audit_logs, scans, authentication_logs"
        ) from None
    if min(seconds, audit_logs, scans, authentication_logs) < 0:
        raise invalid(
            "advance: seconds, audit_logs, scans and authentication_logs must not be negative"
        )
    with app.store.lock:
        before = app.clock.now_us()
        app.clock.advance(seconds)
        after = app.clock.now_us()
        app.generator.add_audit_logs(audit_logs, before, after)
        app.generator.add_authentication_logs(authentication_logs, before, after)
        app.generator.add_scans(scans, after)
    return json.dumps(
        {
            "now": format_us(after),
            "audit_logs": audit_logs,
            "scans": scans,
            "authentication_logs": authentication_logs,
        }
    ).encode()


def _add_namespace(app: App, data: dict[str, Any]) -> bytes:
    """A new child namespace the key can read from now on, with backdated data."""
    tenant = app.data.namespace
    name = data.get("name")
    if not isinstance(name, str) or not name.startswith(tenant + ".") or name.endswith("."):
        raise invalid(f"add-namespace: 'name' must be a child of {tenant!r}, e.g. {tenant}.newteam")
    if name in app.data.all_namespaces:
        raise invalid(f"add-namespace: namespace {name!r} already exists")
    try:
        audit_logs = int(data.get("audit_logs", 0))
        scans = int(data.get("scans", 0))
        backdate_days = float(data.get("backdate_days", 0))
        authentication_logs = int(data.get("authentication_logs", audit_logs))
    except (TypeError, ValueError):
        raise invalid(
            "add-namespace takes numbers: audit_logs, scans, backdate_days, authentication_logs"
        ) from None
    if min(audit_logs, scans, backdate_days, authentication_logs) < 0:
        raise invalid(
            "add-namespace: audit_logs, scans, backdate_days and authentication_logs "
            "must not be negative"
        )
    with app.store.lock:
        app.generator.add_namespace(
            name,
            audit_logs=audit_logs,
            scans=scans,
            backdate_days=backdate_days,
            now_us=app.clock.now_us(),
            authentication_logs=authentication_logs,
        )
    return json.dumps(
        {
            "namespace": name,
            "audit_logs": audit_logs,
            "scans": scans,
            "backdate_days": backdate_days,
            "authentication_logs": authentication_logs,
        }
    ).encode()
