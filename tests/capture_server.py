"""A local HTTP server that records every request it gets: the attacker's end.

Security tests point a schema ``$ref``, a BATCH manifest or a redirect at it and
then ask it what reached it: ``GET /_captured`` answers the list of requests
(method, path, headers, body) received so far, that call itself excluded.  It
answers everything else with ``--status`` and ``--body`` (a JSON document good
enough to be taken for a schema or a token answer, so a connector that fetched
it would carry on), or with a redirect to ``--redirect-to``.

Run: ``python -m tests.capture_server [--redirect-to URL]``; it prints
``LISTENING http://127.0.0.1:<port>`` once ready (tests/support/servers.py).
"""

from __future__ import annotations

import argparse
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

CONTROL_PATH = "/_captured"
DEFAULT_BODY = {"token": "captured-token", "type": "string", "list": {"objects": []}}


def make_handler(options: argparse.Namespace) -> type[BaseHTTPRequestHandler]:
    captured: list[dict[str, Any]] = []
    lock = threading.Lock()
    redirect_path = urlsplit(options.redirect_to or "").path

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: the test reads what came through ``/_captured``."""

        def _answer(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
            self.send_response(status)
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            if self.path == CONTROL_PATH:
                with lock:
                    self._answer(200, json.dumps(captured).encode())
                return
            with lock:
                captured.append(
                    {
                        "method": self.command,
                        "path": self.path,
                        "headers": dict(self.headers.items()),
                        "body": body.decode(errors="replace"),
                    }
                )
            lands_here = urlsplit(self.path).path == redirect_path and "://" not in (
                options.redirect_to or "://"
            )
            redirects = options.redirect_to and self.command in options.redirect_methods.split(",")
            if redirects and not lands_here:
                self._answer(options.redirect_status, b"{}", {"Location": options.redirect_to})
                return
            self._answer(options.status, options.body.encode())

        do_GET = do_POST = do_PUT = _handle

    return Handler


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--redirect-to", default="", help="answer with a redirect to this URL")
    parser.add_argument("--redirect-status", type=int, default=307)
    parser.add_argument("--redirect-methods", default="GET,POST,PUT", help="comma-separated")
    parser.add_argument("--status", type=int, default=200)
    parser.add_argument("--body", default=json.dumps(DEFAULT_BODY))
    options = parser.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(options))
    print(f"LISTENING http://127.0.0.1:{server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
