"""HTTP handling: routing, auth, namespaces, the cost model, faults and the envelope.

``http.server`` (HTTP/1.1, keep-alive, Content-Length) is used on purpose: it
gives direct control of the socket, which the ``reset`` and ``truncate``
faults need (half a body then an RST, or a cut body).
"""

from __future__ import annotations

import email.parser
import http.client
import json
import math
import re
import socket
import struct
import sys
import threading
import time
from dataclasses import dataclass, field
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from tests.emulator import control
from tests.emulator.auth import Tokens
from tests.emulator.clock import Clock
from tests.emulator.cost import CostModel
from tests.emulator.data import DataConfig, Generator, archive_boundary
from tests.emulator.errors import (
    DEADLINE_EXCEEDED,
    INTERNAL,
    NOT_FOUND,
    PERMISSION_DENIED,
    RESOURCE_EXHAUSTED,
    UNAVAILABLE,
    UNIMPLEMENTED,
    ApiError,
)
from tests.emulator.faults import AUTH_PATH, Faults, RateLimiter, retry_after_header
from tests.emulator.listing import Lister, parse_params, plan
from tests.emulator.store import RESOURCES, Store

DATE_HEADER_STYLES = ("normal", "missing", "repeated", "malformed", "clock")
RETRY_AFTER_STYLES = ("seconds", "http-date", "missing", "repeated", "malformed")


def retry_after_headers(seconds: float, style: str, now: float) -> dict[str, str | list[str]]:
    """The ``Retry-After`` a 429 carries in each style (``now``: Unix time).

    ``repeated`` sends the field twice (two header lines), ``malformed`` a value
    no parser can read, ``missing`` none at all (nothing documents the header).
    """
    whole = retry_after_header(seconds)
    if style == "missing":
        return {}
    if style == "http-date":
        # HTTP dates have whole seconds: the wait rounds up to the next one.
        return {"Retry-After": formatdate(math.ceil(now + seconds), usegmt=True)}
    if style == "repeated":
        return {"Retry-After": [whole, whole]}
    if style == "malformed":
        return {"Retry-After": "soon-ish"}
    return {"Retry-After": whole}


_API_PATH = re.compile(r"^/v1/namespaces/([^/]+)/(audit-logs/archived|[a-z-]+)(?:/([^/]+))?/?$")
_STATUS_FAULTS = {
    "429": RESOURCE_EXHAUSTED,
    "500": INTERNAL,
    "503": UNAVAILABLE,
    "504": DEADLINE_EXCEEDED,
}
_FAULT_MESSAGES = {
    "429": "rate limit exceeded",
    "500": "internal error",
    "503": "service unavailable",
    "504": "context deadline exceeded",
}


class Stats:
    """Request counters for ``/_emulator/stats``."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests = 0
        self.by_status: dict[str, int] = {}
        self.by_path: dict[str, int] = {}
        self.token_exchanges = 0
        self.rows_scanned = 0

    def request(self, path: str) -> None:
        """Count a request to an API path."""
        with self._lock:
            self.requests += 1
            self.by_path[path] = self.by_path.get(path, 0) + 1

    def status(self, status: int) -> None:
        """Count the status an API request was answered with."""
        with self._lock:
            self.by_status[str(status)] = self.by_status.get(str(status), 0) + 1

    def add(self, *, exchanges: int = 0, rows: int = 0) -> None:
        """Count token exchanges and rows scanned."""
        with self._lock:
            self.token_exchanges += exchanges
            self.rows_scanned += rows

    def snapshot(self, faults: Faults) -> dict[str, Any]:
        """Everything counted so far."""
        with self._lock:
            return {
                "requests": self.requests,
                "by_status": dict(self.by_status),
                "by_path": dict(self.by_path),
                "token_exchanges": self.token_exchanges,
                "faults_injected": faults.injected,
                "faults_by_type": dict(faults.by_type),
                "rows_scanned": self.rows_scanned,
            }


@dataclass
class Reply:
    """A response to send: status, body, extra headers."""

    status: int
    body: bytes
    headers: dict[str, str | list[str]] = field(default_factory=dict)


@dataclass
class App:
    """Everything a request handler needs, shared by all handler threads."""

    data: DataConfig
    clock: Clock
    store: Store
    generator: Generator
    tokens: Tokens
    faults: Faults
    limiter: RateLimiter
    cost: CostModel
    verbose: bool = False
    #: Modes that play the API's (or a proxy's) variations; see ``cli.py --help``.
    paging: str = "normal"
    timestamps: str = "plain"
    ignore_request_timeout: bool = False
    date_header: str = "normal"
    retry_after_style: str = "seconds"
    stats: Stats = field(default_factory=Stats)
    lister: Lister = field(init=False)

    def __post_init__(self) -> None:
        self.lister = Lister(self.store, paging=self.paging, timestamps=self.timestamps)

    def retry_after(self, seconds: float) -> dict[str, str | list[str]]:
        """The ``Retry-After`` header(s) of a 429, in the configured style."""
        return retry_after_headers(seconds, self.retry_after_style, time.time())

    # namespaces -----------------------------------------------------------------
    def namespaces_for(self, namespace: str, traverse: bool) -> frozenset[str]:
        """The namespaces a request reads, after the 404/403 checks."""
        if namespace not in self.data.all_namespaces:
            raise ApiError(NOT_FOUND, f"namespace {namespace!r} not found")
        if namespace not in self.data.readable:
            raise ApiError(PERMISSION_DENIED, f"permission denied on namespace {namespace!r}")
        if not traverse:
            return frozenset({namespace})
        prefix = namespace + "."
        return frozenset(n for n in self.data.readable if n == namespace or n.startswith(prefix))

    # API -----------------------------------------------------------------------
    def api(self, method: str, path: str, query: str, headers: Any, body: bytes) -> Reply:
        """Answer one API request (faults are applied by the caller)."""
        if path == AUTH_PATH:
            if method != "POST":
                raise ApiError(UNIMPLEMENTED, f"method {method} not allowed on {path}")
            reply = self.tokens.exchange(body)
            self.stats.add(exchanges=1)
            return Reply(200, json.dumps(reply).encode())
        match = _API_PATH.match(path)
        if match is None:
            raise ApiError(NOT_FOUND, f"no such path {path}")
        namespace, resource, uuid = unquote(match.group(1)), match.group(2), match.group(3)
        archived = resource == "audit-logs/archived"
        base = "audit-logs" if archived else resource
        if base not in RESOURCES:
            raise ApiError(NOT_FOUND, f"no such resource {resource!r}")
        if method != "GET":
            raise ApiError(UNIMPLEMENTED, f"method {method} not allowed on {path}")
        token = self.tokens.check(headers.get("Authorization"))
        wait = self.limiter.admit(token)
        if wait is not None:
            self.faults.count("rate-limit")
            raise ApiError(
                RESOURCE_EXHAUSTED,
                "rate limit exceeded",
                self.retry_after(max(wait, self.faults.retry_after)),
            )
        if uuid is not None:
            self.namespaces_for(namespace, False)
            return self._get(base, namespace, unquote(uuid))
        params = parse_params(parse_qs(query, keep_blank_values=True))
        namespaces = self.namespaces_for(namespace, params.traverse)
        if base == "namespaces" and self.data.deny_namespace_list:
            raise ApiError(
                PERMISSION_DENIED, f"permission denied to list namespaces of {namespace!r}"
            )
        deadline = self.cost.deadline(headers.get("Request-Timeout"))
        now = self.clock.now_us()
        window: tuple[int | None, int | None] = (None, None)
        if base == "audit-logs":
            boundary = archive_boundary(now)
            window = (None, boundary) if archived else (boundary, None)
        query_plan = plan(self.store, base, namespaces, params, now_us=now, window=window)
        self.stats.add(rows=query_plan.rows)
        latency = self.cost.latency(
            query_plan.rows, archived_unfiltered=archived and not query_plan.filters_message_kind
        )
        started = time.monotonic()
        if latency > deadline and not self.ignore_request_timeout:
            time.sleep(deadline)
            raise ApiError(DEADLINE_EXCEEDED, "context deadline exceeded")
        body_out = self.lister.page(query_plan, params)
        remaining = latency - (time.monotonic() - started)
        if remaining > 0:
            time.sleep(remaining)
        return Reply(200, body_out)

    def _get(self, resource: str, namespace: str, uuid: str) -> Reply:
        with self.store.lock:
            record = self.store.tables[resource].by_uuid.get(uuid)
            body = record.json() if record is not None else None
        if record is None or body is None or record.namespace != namespace:
            raise ApiError(NOT_FOUND, f"{resource} {uuid!r} not found in namespace {namespace!r}")
        return Reply(200, body)


class Handler(BaseHTTPRequestHandler):
    """One connection; ``app`` is set on a subclass per server."""

    protocol_version = "HTTP/1.1"
    server_version = "EndorEmulator/1"
    # Headers and body go out in separate writes; with Nagle on, the body waits
    # for the client's delayed ACK (~40 ms a request on Linux keep-alive).
    disable_nagle_algorithm = True
    app: App

    def do_GET(self) -> None:
        """GET: lists, gets, control reads."""
        self._handle("GET")

    def do_POST(self) -> None:
        """POST: token exchange, control actions."""
        self._handle("POST")

    def do_DELETE(self) -> None:
        """DELETE: clearing faults."""
        self._handle("DELETE")

    def log_message(self, format: str, *args: Any) -> None:
        """One access-log line per request on stderr, only with ``--verbose``."""
        if self.app.verbose:
            sys.stderr.write(f"{self.address_string()} {format % args}\n")

    def _read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _handle(self, method: str) -> None:
        app = self.app
        split = urlsplit(self.path)
        path, query = split.path, split.query
        body = self._read_body()
        if path.startswith("/_emulator/"):
            try:
                reply = Reply(200, control.handle(app, method, path, body))
            except ApiError as exc:
                reply = Reply(exc.status, exc.body(), exc.headers)
            self._send(reply)
            return
        app.stats.request(path)
        fault = app.faults.pick(path)
        if fault is not None and fault.type in _STATUS_FAULTS:
            headers: dict[str, str | list[str]] = {}
            if fault.type == "429":
                headers = app.retry_after(app.faults.retry_after)
            error = ApiError(_STATUS_FAULTS[fault.type], _FAULT_MESSAGES[fault.type], headers)
            reply = Reply(error.status, error.body(), error.headers)
            app.stats.status(reply.status)
            self._send(reply)
            return
        try:
            reply = app.api(method, path, query, self.headers, body)
        except ApiError as exc:
            reply = Reply(exc.status, exc.body(), exc.headers)
        except Exception as exc:  # a bug in the emulator: say so, keep serving
            sys.stderr.write(f"emulator error on {method} {self.path}: {exc!r}\n")
            error = ApiError(INTERNAL, f"emulator bug: {type(exc).__name__}")
            reply = Reply(error.status, error.body())
        app.stats.status(reply.status)
        if fault is not None and fault.type == "slow":
            time.sleep(app.faults.slow_delay)
        if fault is not None and fault.type == "reset":
            self._send_reset(reply)
        elif fault is not None and fault.type == "truncate":
            self._send_truncated(reply)
        else:
            self._send(reply)

    def send_response(self, code: int, message: str | None = None) -> None:
        """As ``http.server``'s, with the ``Date`` header in the configured style."""
        self.log_request(code)
        self.send_response_only(code, message)
        self.send_header("Server", self.version_string())
        style = self.app.date_header
        if style == "clock":
            # The emulator's own clock (--now, /advance): a server whose clock is not ours.
            self.send_header("Date", formatdate(self.app.clock.now_us() / 1e6, usegmt=True))
        if style in ("normal", "repeated"):
            self.send_header("Date", self.date_time_string())
        if style == "repeated":
            self.send_header("Date", self.date_time_string(time.time() + 1))
        elif style == "malformed":
            self.send_header("Date", "Tuesday, the day after yesterday")

    def _head(self, reply: Reply, length: int) -> None:
        self.send_response(reply.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(length))
        for name, value in reply.headers.items():
            for one in [value] if isinstance(value, str) else value:
                self.send_header(name, one)
        self.end_headers()

    def _send(self, reply: Reply) -> None:
        self._head(reply, len(reply.body))
        self.wfile.write(reply.body)

    def _send_reset(self, reply: Reply) -> None:
        """Headers promising the whole body, half of it, then a TCP reset."""
        self._head(reply, len(reply.body))
        self.wfile.write(reply.body[: max(1, len(reply.body) // 2)])
        self.wfile.flush()
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.close_connection = True
        self.connection.close()

    def _send_truncated(self, reply: Reply) -> None:
        """A complete HTTP response whose JSON body is cut in half, then close."""
        cut = reply.body[: max(1, len(reply.body) // 2)]
        self.close_connection = True
        self._head(Reply(reply.status, cut, {**reply.headers, "Connection": "close"}), len(cut))
        self.wfile.write(cut)


# A header line as the email parser reads it without a defect: a name of printable
# characters other than ":", then ":"; anything else (folded lines, "From ") goes to it.
_HEADER_NAME = re.compile(r"[\041-\071\073-\176]+")


def parse_request_headers(
    fp: Any, _class: type[http.client.HTTPMessage] = http.client.HTTPMessage
) -> http.client.HTTPMessage:
    """``http.client.parse_headers`` without the email parser for plain header lines.

    ``http.server`` parses every request's headers with ``email.parser`` (a feed parser
    for whole mail messages): a quarter of the emulator's CPU per request (py-spy --gil).
    Plain ``Name: value`` lines make the same message when stored as that parser stores
    them (``Compat32.header_source_parse``: the value without its leading blanks and line
    end); any other block is handed to the email parser as before.
    """
    lines = http.client._read_headers(fp)  # its line-length and count limits, as before
    message = _class()
    for raw in lines:
        if raw in (b"\r\n", b"\n", b""):
            break
        line = raw.decode("iso-8859-1")
        name, colon, value = line.partition(":")
        if not colon or not _HEADER_NAME.fullmatch(name):
            text = b"".join(lines).decode("iso-8859-1")
            return email.parser.Parser(_class=_class).parsestr(text)
        message.set_raw(name, value.lstrip(" \t").rstrip("\r\n"))
    message.set_payload("")
    return message


def use_plain_header_parser() -> None:
    """Make ``http.server`` (this process's, the emulator's) read request headers with
    ``parse_request_headers``: for the emulator's process only, never a test's."""
    http.client.parse_headers = parse_request_headers  # type: ignore[assignment]


class Server(ThreadingHTTPServer):
    """Threaded server with daemon threads (a hung client never blocks shutdown)."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128


def make_server(app: App, host: str, port: int) -> Server:
    """Bind the server (port 0: any free port)."""
    handler = type("BoundHandler", (Handler,), {"app": app})
    return Server((host, port), handler)
