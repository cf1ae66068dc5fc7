"""Command line: parse flags, build the data, serve until SIGTERM/SIGINT.

Prints exactly one ``LISTENING http://HOST:PORT`` line on stdout once the
socket is bound (docs/CONTRACTS.md section 1); nothing else goes to stdout.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from typing import Any

from tests.emulator.auth import Tokens
from tests.emulator.clock import Clock, parse_rfc3339_us
from tests.emulator.cost import CostModel
from tests.emulator.data import DataConfig, Generator
from tests.emulator.faults import FAULT_TYPES, FaultRule, Faults, RateLimiter, parse_fault_flag
from tests.emulator.listing import PAGING_MODES, TIMESTAMP_STYLES
from tests.emulator.server import (
    DATE_HEADER_STYLES,
    RETRY_AFTER_STYLES,
    App,
    make_server,
    use_plain_header_parser,
)
from tests.emulator.store import Store


def _nonneg_int(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {value}")
    return value


def _nonneg_float(text: str) -> float:
    value = float(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {value}")
    return value


def _rfc3339(text: str) -> int:
    try:
        return parse_rfc3339_us(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not RFC 3339 (e.g. 2025-06-01T00:00:00Z)"
        ) from None


def _fault(text: str) -> FaultRule:
    try:
        return parse_fault_flag(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def build_parser() -> argparse.ArgumentParser:
    """Every flag, documented (``--help``)."""
    p = argparse.ArgumentParser(
        prog="python -m tests.emulator",
        description="Endor Labs API emulator (see tests/emulator/README.md).",
    )
    p.add_argument("--host", default="127.0.0.1", help="bind address (default 127.0.0.1)")
    p.add_argument(
        "--port", type=_nonneg_int, default=0, help="bind port; 0 = a free one (default 0)"
    )
    p.add_argument("--seed", type=int, default=1, help="data generator seed (default 1)")
    p.add_argument(
        "--now",
        type=_rfc3339,
        default=None,
        help="clock anchor, RFC 3339 (default: real time at start)",
    )
    p.add_argument("--api-key", default="demo-key", help="the accepted API key (default demo-key)")
    p.add_argument("--api-secret", default="demo-secret", help="its secret (default demo-secret)")
    p.add_argument(
        "--namespace", default="acme", help="tenant namespace the key may read (default acme)"
    )
    p.add_argument(
        "--child-namespaces",
        default="platform,security",
        help="comma-separated children, served as NAMESPACE.CHILD (default platform,security)",
    )
    p.add_argument(
        "--forbidden-namespace",
        default="other-corp",
        help="a namespace that exists but the key may not read: 403 (default other-corp)",
    )
    p.add_argument(
        "--token-ttl",
        type=_nonneg_float,
        default=14400.0,
        help="token lifetime in seconds of emulator time (default 14400)",
    )
    p.add_argument("--projects", type=_nonneg_int, default=8, help="projects (default 8)")
    p.add_argument(
        "--scans-per-project", type=_nonneg_int, default=4, help="scans per project (default 4)"
    )
    p.add_argument(
        "--findings-per-scan", type=_nonneg_int, default=6, help="findings per scan (default 6)"
    )
    p.add_argument("--audit-logs", type=_nonneg_int, default=2000, help="audit logs (default 2000)")
    p.add_argument(
        "--audit-days",
        type=_nonneg_int,
        default=90,
        help="audit logs spread over the last D days (default 90)",
    )
    p.add_argument("--finding-logs", type=_nonneg_int, default=60, help="finding logs (default 60)")
    p.add_argument(
        "--authentication-logs",
        type=_nonneg_int,
        default=300,
        help="authentication logs, spread over the last --audit-days days (default 300)",
    )
    p.add_argument(
        "--namespaces-without-full-name",
        action="store_true",
        help="serve namespaces without spec.full_name (clients use parent + '.' + meta.name)",
    )
    p.add_argument(
        "--auth-expiry-field",
        choices=("expirationTime", "expiration_time"),
        default="expirationTime",
        help="how the token exchange spells the expiry (default expirationTime)",
    )
    p.add_argument(
        "--row-cost-us",
        type=_nonneg_float,
        default=0.05,
        help="latency per row a query scans, microseconds (default 0.05)",
    )
    p.add_argument(
        "--archive-cost-multiplier",
        type=_nonneg_float,
        default=10.0,
        help="cost factor for archived queries without a spec.message_kind filter (default 10)",
    )
    p.add_argument(
        "--base-latency",
        type=_nonneg_float,
        default=0.0,
        help="fixed latency of every list call, seconds (default 0)",
    )
    p.add_argument(
        "--default-deadline",
        type=_nonneg_float,
        default=20.0,
        help="deadline in seconds without a Request-Timeout header (default 20)",
    )
    p.add_argument(
        "--fault",
        type=_fault,
        action="append",
        default=[],
        metavar="TYPE:RATE[:PATH]",
        help=f"inject a fault (repeatable); TYPE in {','.join(FAULT_TYPES)}; "
        "RATE a probability or xN for the next N matching requests",
    )
    p.add_argument("--fault-seed", type=int, default=7, help="seed of the fault RNG (default 7)")
    p.add_argument(
        "--retry-after",
        type=_nonneg_float,
        default=1.0,
        help="Retry-After seconds on 429s (default 1; a fraction such as 0.05 is sent as such)",
    )
    p.add_argument(
        "--slow-delay",
        type=_nonneg_float,
        default=2.0,
        help="delay of a 'slow' fault, seconds (default 2)",
    )
    p.add_argument(
        "--rate-limit",
        type=_nonneg_float,
        default=0.0,
        help="requests per second per token before 429; 0 = off (default 0)",
    )
    p.add_argument(
        "--unknown-fields",
        action="store_true",
        help="add x_emulator_extra (top level and in spec) to every object",
    )
    p.add_argument(
        "--edge-times",
        action="store_true",
        help="two more tenant audit logs, at 1970-01-01T00:00:00Z and 9999-12-31T23:59:59Z "
        "(not with --live or advance: their audit logs would come after the second)",
    )
    p.add_argument(
        "--cut-strings",
        action="store_true",
        help="every object's meta.annotations.note is 'cut emoji \\ud83d': a string cut "
        "between the two UTF-16 halves of an emoji, a lone surrogate escape (valid JSON, "
        "no UTF-8 form)",
    )
    p.add_argument(
        "--deny-namespace-list",
        action="store_true",
        help="the key may read the tenant's data but not list its namespaces: 403",
    )
    p.add_argument("--live", action="store_true", help="new audit logs and scans keep arriving")
    p.add_argument(
        "--live-rate",
        type=_nonneg_float,
        default=20.0,
        help="live mode: audit logs per second; a scan every 50 of them (default 20)",
    )
    p.add_argument(
        "--paging",
        choices=PAGING_MODES,
        default="normal",
        help="how list pages link: normal; sorted-without-token (sorted pages carry "
        "next_page_id, never next_page_token); non-advancing (every next cursor repeats "
        "the one the request sent: a loop); empty-pages (every other page has no objects "
        "but a next_page_token); overlapping (each page repeats the last 2 rows of the one "
        "before); missing-row-once (the first page of each resource with 2+ rows leaves its "
        "middle row out, once); missing-row-always (the middle audit log is never listed, "
        "yet counted); sorted-first-missing (the first page of every sorted list call "
        "leaves its first row out). Counts are exact in every mode (default normal)",
    )
    p.add_argument(
        "--timestamps",
        choices=TIMESTAMP_STYLES,
        default="plain",
        help="plain (UTC, 0 or 6 digits); mixed: every served time has 0, 3, 6 or 9 "
        "fractional digits (cut, never rounded) and Z, +05:30 or -08:00 (default plain)",
    )
    p.add_argument(
        "--ignore-request-timeout",
        action="store_true",
        help="never answer 504 for a slow query: answer after its whole latency, "
        "however long (a server that ignores Request-Timeout)",
    )
    p.add_argument(
        "--date-header",
        choices=DATE_HEADER_STYLES,
        default="normal",
        help="the Date header of every response: normal (this machine's clock), missing, "
        "repeated (two lines, a second apart), malformed, or clock (the emulator's own "
        "clock: --now plus the time since start, so a --now in the past is a server "
        "clock behind ours) (default normal)",
    )
    p.add_argument(
        "--retry-after-header",
        choices=RETRY_AFTER_STYLES,
        default="seconds",
        help="the Retry-After of a 429: seconds, http-date, missing, repeated (two "
        "lines) or malformed (default seconds)",
    )
    p.add_argument(
        "--verbose", action="store_true", help="one access-log line per request on stderr"
    )
    return p


def build_app(args: argparse.Namespace) -> App:
    """Build the clock, the data and the request machinery from parsed flags."""
    children = tuple(c.strip() for c in args.child_namespaces.split(",") if c.strip())
    data = DataConfig(
        seed=args.seed,
        namespace=args.namespace,
        children=children,
        forbidden_namespace=args.forbidden_namespace,
        projects=args.projects,
        scans_per_project=args.scans_per_project,
        findings_per_scan=args.findings_per_scan,
        audit_logs=args.audit_logs,
        audit_days=args.audit_days,
        finding_logs=args.finding_logs,
        authentication_logs=args.authentication_logs,
        namespaces_without_full_name=args.namespaces_without_full_name,
        unknown_fields=args.unknown_fields,
        cut_strings=args.cut_strings,
        deny_namespace_list=args.deny_namespace_list,
    )
    clock = Clock(args.now)
    store = Store()
    generator = Generator(data, store)
    generator.build(clock.anchor_us)
    if args.edge_times:
        generator.add_edge_audit_logs()
    return App(
        data=data,
        clock=clock,
        store=store,
        generator=generator,
        tokens=Tokens(args.api_key, args.api_secret, args.token_ttl, clock, args.auth_expiry_field),
        faults=Faults(args.fault, args.fault_seed, args.retry_after, args.slow_delay),
        limiter=RateLimiter(args.rate_limit),
        cost=CostModel(
            args.row_cost_us, args.archive_cost_multiplier, args.default_deadline, args.base_latency
        ),
        verbose=args.verbose,
        paging=args.paging,
        timestamps=args.timestamps,
        ignore_request_timeout=args.ignore_request_timeout,
        date_header=args.date_header,
        retry_after_style=args.retry_after_header,
    )


def _live(app: App, rate: float, stop: threading.Event) -> None:
    """Add audit logs (and every 50th, a scan) at ``rate`` a second until stopped."""
    tick = 0.1
    owed = 0.0
    made = 0
    last = app.clock.now_us()
    while not stop.wait(tick):
        owed += rate * tick
        count = int(owed)
        if count <= 0:
            continue
        owed -= count
        with app.store.lock:
            now = app.clock.now_us()
            app.generator.add_audit_logs(count, last, now)
            scans = (made + count) // 50 - made // 50
            app.generator.add_scans(scans, now)
            last = now
        made += count


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m tests.emulator``."""
    args = build_parser().parse_args(argv)
    if args.namespace in ("", args.forbidden_namespace):
        print(
            "error: --namespace must be set and differ from --forbidden-namespace", file=sys.stderr
        )
        return 2
    use_plain_header_parser()
    try:
        app = build_app(args)
        server = make_server(app, args.host, args.port)
    except OSError as exc:
        print(f"error: cannot listen on {args.host}:{args.port}: {exc.strerror}", file=sys.stderr)
        return 1
    stop = threading.Event()

    def shut_down(*_: Any) -> None:
        stop.set()
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, shut_down)
    signal.signal(signal.SIGINT, shut_down)
    if args.live:
        threading.Thread(target=_live, args=(app, args.live_rate, stop), daemon=True).start()
    host, port = server.server_address[:2]
    print(f"LISTENING http://{host}:{port}", flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()
    return 0
