"""A fault-injecting HTTP proxy to put between the target and the local S3 server.

``python -m tests.s3_fault_proxy --upstream http://127.0.0.1:PORT [--port 0]``
prints ``LISTENING http://HOST:PORT`` and forwards every request to the upstream
unchanged (the Host header too, so signatures still match), except those a
fault rule picks.  Rules are set with ``POST /_proxy/faults``:

    {"faults": [{"type": "503", "rate": 0.2, "method": "PUT"},
                {"type": "reset", "times": 2}],
     "seed": 7, "slow_delay": 1.5}

Types: ``500`` (InternalError), ``503`` (SlowDown), ``403`` (AccessDenied),
``404`` (NoSuchBucket), ``501`` (NotImplemented), ``skew`` (403 RequestTimeTooSkewed,
the request signed 20 minutes behind), ``expired`` (400 ExpiredToken), ``reset`` (the
connection is reset before an answer), ``slow`` (answered after ``slow_delay``
seconds), ``hold`` (forwarded only once ``POST /_proxy/release`` is called: a test
holds one upload while the others go on, without sleeping).  ``rate`` is a probability
(seeded), ``times`` the next N matching requests; ``method`` and ``path``
(a substring) narrow what matches.  ``DELETE /_proxy/faults`` clears the rules,
``GET /_proxy/stats`` counts requests (by method, and by ``"METHOD /decoded/path"``
under ``paths``) and injected faults.  Bucket names cannot
contain ``_``, so the ``/_proxy/`` paths never shadow an S3 request.
"""

from __future__ import annotations

import argparse
import http.client
import json
import random
import signal
import socket
import struct
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote, urlsplit

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade"}
S3_ERRORS = {
    "500": (500, "InternalError", "We encountered an internal error. Please try again."),
    "503": (503, "SlowDown", "Please reduce your request rate."),
    "403": (403, "AccessDenied", "Access Denied"),
    "404": (404, "NoSuchBucket", "The specified bucket does not exist"),
    "skew": (
        403,
        "RequestTimeTooSkewed",
        "The difference between the request time and the current time is too large.",
    ),
    "expired": (400, "ExpiredToken", "The provided token has expired."),
    # A store without conditional writes (If-None-Match on PutObject).
    "501": (
        501,
        "NotImplemented",
        "A header you provided implies functionality that is not implemented",
    ),
}
# How far behind S3's clock a "skew" answer says the request was signed.
SKEW_SECONDS = 1200


@dataclass
class FaultRule:
    """One kind of fault and which requests it hits."""

    type: str
    rate: float | None = None
    times: int | None = None
    method: str | None = None
    path: str | None = None

    def matches(self, method: str, path: str) -> bool:
        """Whether a request is of the kind this rule is about."""
        return (self.method is None or self.method == method) and (
            self.path is None or self.path in path
        )


@dataclass
class FaultPlan:
    """The rules in force and what they did, shared by all handler threads."""

    rules: list[FaultRule] = field(default_factory=list)
    random: random.Random = field(default_factory=lambda: random.Random(0))
    slow_delay: float = 1.0
    requests: Counter[str] = field(default_factory=Counter)
    paths: Counter[str] = field(default_factory=Counter)
    injected: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)
    #: Set by ``POST /_proxy/release``: held requests go on.
    released: threading.Event = field(default_factory=threading.Event)

    def configure(self, body: dict[str, Any]) -> None:
        """Replace the rules (and the seed and delay) with those of a control request."""
        with self.lock:
            self.rules = [FaultRule(**rule) for rule in body.get("faults", [])]
            self.random = random.Random(body.get("seed", 0))
            self.slow_delay = float(body.get("slow_delay", self.slow_delay))
            self.released.set()  # what was held under the old rules goes on
            self.released = threading.Event()

    def pick(self, method: str, path: str) -> str | None:
        """The fault to inject into this request, if any (first matching rule wins)."""
        with self.lock:
            self.requests[method] += 1
            self.paths[f"{method} {unquote(urlsplit(path).path)}"] += 1
            for rule in self.rules:
                if not rule.matches(method, path):
                    continue
                if rule.times is not None:
                    if rule.times <= 0:
                        continue
                    rule.times -= 1
                elif rule.rate is None or self.random.random() >= rule.rate:
                    continue
                self.injected[rule.type] += 1
                return rule.type
            return None


class ProxyServer(ThreadingHTTPServer):
    """Holds the upstream address and the fault plan for the handlers."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], upstream: str) -> None:
        super().__init__(address, ProxyHandler)
        parts = urlsplit(upstream)
        self.upstream_host = parts.hostname or "127.0.0.1"
        self.upstream_port = parts.port or 80
        self.plan = FaultPlan()


class ProxyHandler(BaseHTTPRequestHandler):
    """Forwards one request upstream, or answers it with a fault."""

    protocol_version = "HTTP/1.1"
    server: ProxyServer

    def log_message(self, format: str, *args: Any) -> None:
        """Stay quiet: tests read the stats endpoint instead."""

    def _read_body(self) -> bytes:
        """The request body, de-chunked if it came with Transfer-Encoding: chunked."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            parts = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(parts)
                parts.append(self.rfile.read(size))
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _reply(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _control(self, body: bytes) -> None:
        plan = self.server.plan
        if self.command == "POST" and self.path == "/_proxy/faults":
            plan.configure(json.loads(body or b"{}"))
        elif self.command == "DELETE" and self.path == "/_proxy/faults":
            plan.configure({})
        elif self.command == "POST" and self.path == "/_proxy/release":
            plan.released.set()
        elif self.command != "GET" or self.path != "/_proxy/stats":
            self._reply(404, b'{"error": "unknown control path"}', "application/json")
            return
        with plan.lock:
            stats = {
                "requests": dict(plan.requests),
                "paths": dict(plan.paths),
                "injected": dict(plan.injected),
            }
        self._reply(200, json.dumps(stats).encode(), "application/json")

    def _reset(self) -> None:
        """Abort the connection with a TCP RST, as a dropped connection looks to a client."""
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.connection.close()
        self.close_connection = True

    def _forward(self, body: bytes) -> None:
        upstream = http.client.HTTPConnection(
            self.server.upstream_host, self.server.upstream_port, timeout=120
        )
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
        headers["Content-Length"] = str(len(body))
        try:
            upstream.request(self.command, self.path, body=body, headers=headers)
            response = upstream.getresponse()
            payload = response.read()
        finally:
            upstream.close()
        self.send_response(response.status, response.reason)
        for name, value in response.getheaders():
            if name.lower() not in HOP_BY_HOP and name.lower() != "content-length":
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    def _handle(self) -> None:
        body = self._read_body()
        if self.path.startswith("/_proxy/"):
            self._control(body)
            return
        fault = self.server.plan.pick(self.command, self.path)
        if fault == "reset":
            self._reset()
            return
        if fault in S3_ERRORS:
            status, code, message = S3_ERRORS[fault]
            times = ""
            if fault == "skew":  # as S3 says it: the request's signing time and its own
                now = time.time()
                signed = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(now - SKEW_SECONDS))
                server = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now))
                times = f"<RequestTime>{signed}</RequestTime><ServerTime>{server}</ServerTime>"
            xml = (
                f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code>'
                f"<Message>{message}</Message>{times}<RequestId>fault-proxy</RequestId></Error>"
            )
            self._reply(status, xml.encode(), "application/xml")
            return
        if fault == "slow":
            time.sleep(self.server.plan.slow_delay)
        if fault == "hold":
            self.server.plan.released.wait(timeout=120)
        self._forward(body)

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _handle


def main(argv: list[str] | None = None) -> None:
    """Serve until SIGTERM or SIGINT."""
    parser = argparse.ArgumentParser(prog="python -m tests.s3_fault_proxy", description=__doc__)
    parser.add_argument("--upstream", required=True, help="the S3 endpoint to forward to")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    options = parser.parse_args(argv)
    server = ProxyServer((options.host, options.port), options.upstream)
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    host, port = server.server_address[:2]
    print(f"LISTENING http://{host}:{port}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
