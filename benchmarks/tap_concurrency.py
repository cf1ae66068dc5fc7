"""Issue 13: the tap at 1, 4, 8 and 16 concurrent requests, against two floors.

``python -m benchmarks.tap_concurrency [--latency 0.1 [0.3]] [--audit-logs N]``

One emulator per latency (``--base-latency``, archive cost on), audit logs over a
year (archived and active).  Measured in the same run, against the same emulator:

- the tap (``audit_logs`` only) at each ``max_concurrent_requests``: wall time,
  peak RSS (``measure.run_child``), its records (identical to the run at 1?) and
  how many list requests it sent per record (the emulator's access log);
- floor 1, a plain sequential paging loop (``requests``) over the *same windows*
  the tap at 1 asked for (read back from the emulator's access log), writing
  each object as a JSON line;
- floor 2, a plain ``ThreadPoolExecutor`` client over the same windows at the
  same concurrency (each worker pages one window; results kept in order);
- the archive filter's effect: one archived query over the year with and
  without ``spec.message_kind`` in its filter (the emulator charges
  ``--archive-cost-multiplier`` times the row cost without it).

Prints a Markdown table for ``benchmarks/README.md``.  Not a test: nothing is
asserted, the goals are reported as met or not.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import requests

from benchmarks import contenders as c
from benchmarks.measure import run_child
from benchmarks.paths import work_dir
from tests.support.emulator_client import all_objects
from tests.support.servers import ServerProcess, start_emulator

CONCURRENCY = (1, 4, 8, 16)
PAGE_SIZE = 100
ROW_COST_US = "20"
# "GET /v1/namespaces/acme/audit-logs/archived?list_parameters... HTTP/1.1" 200 -
ACCESS_LINE = re.compile(r'"GET (/v1/namespaces/acme/audit-logs[^ ]*) HTTP/1\.[01]" (\d+)')


@dataclass
class Row:
    """One line of the table."""

    latency: float
    contender: str
    concurrency: int
    seconds: float
    records: int
    identical: bool | None = None
    peak_mb: float | None = None
    requests: int | None = None
    notes: list[str] = field(default_factory=list)


def list_requests(server: ServerProcess, since: int) -> list[tuple[str, dict[str, str]]]:
    """The audit-log list requests the emulator logged after line ``since``: (path, params)."""
    found = []
    for line in server.output[since:]:
        match = ACCESS_LINE.search(line)
        if match and match.group(2) == "200":
            parts = urlsplit(match.group(1))
            found.append((parts.path, dict(parse_qsl(parts.query))))
    return found


def first_pages(sent: list[tuple[str, dict[str, str]]]) -> list[tuple[str, dict[str, str]]]:
    """The windows among ``sent``: requests without a page cursor, in the order sent."""
    return [
        (path, params)
        for path, params in sent
        if "list_parameters.page_token" not in params and "list_parameters.page_id" not in params
    ]


def login(url: str) -> requests.Session:
    """A session holding a fresh token (what a hand-written client does first)."""
    session = requests.Session()
    answer = session.post(
        f"{url}/v1/auth/api-key", json={"key": "demo-key", "secret": "demo-secret"}, timeout=60
    )
    answer.raise_for_status()
    session.headers["Authorization"] = f"Bearer {answer.json()['token']}"
    return session


def page_window(session: requests.Session, url: str, path: str, params: dict[str, str]) -> list:
    """Every object of one window, paged by ``page_token`` as a plain loop would."""
    objects: list[dict[str, Any]] = []
    query = dict(params)
    while True:
        answer = session.get(url + path, params=query, timeout=120)
        answer.raise_for_status()
        body = answer.json()["list"]
        objects.extend(body.get("objects") or [])
        token = (body.get("response") or {}).get("next_page_token")
        if not token or not body.get("objects"):
            return objects
        query = {**params, "list_parameters.page_token": str(token)}


def floor(
    url: str, windows: list[tuple[str, dict[str, str]]], workers: int
) -> tuple[float, list[str]]:
    """Read ``windows`` sequentially (workers == 0) or on a thread pool; write JSON lines."""
    started = time.perf_counter()
    uuids: list[str] = []
    dumps = json.dumps
    with open(os.devnull, "w", encoding="utf-8") as out:
        if workers == 0:
            session = login(url)
            results = (page_window(session, url, path, params) for path, params in windows)
        else:
            mine = threading.local()  # one session (connection) per worker

            def read(window: tuple[str, dict[str, str]]) -> list:
                if not hasattr(mine, "session"):
                    mine.session = login(url)
                return page_window(mine.session, url, *window)

            pool = ThreadPoolExecutor(workers)
            results = pool.map(read, windows)  # type: ignore[assignment]
        for objects in results:
            for obj in objects:
                out.write(dumps(obj))
                out.write("\n")
                uuids.append(obj["uuid"])
        if workers:
            pool.shutdown()
    return time.perf_counter() - started, uuids


def run_tap(url: str, concurrency: int, catalog: Path | None) -> tuple[Any, list[str], Path]:
    """The tap (audit_logs only) at ``concurrency``; its run, record uuids and catalog."""
    config = c.write_config(
        f"tap-concurrency-{concurrency}",
        c.tap_config(url, page_size=PAGE_SIZE, max_concurrent_requests=concurrency),
    )
    catalog = catalog or c.discover_catalog(config, {"audit_logs"}, "tap-concurrency")
    out = work_dir("out") / f"tap-concurrency-{concurrency}.singer"
    run = run_child(
        f"tap-endorlabs x{concurrency}",
        [str(c.TAP), "--config", str(config), "--catalog", str(catalog)],
        stdin_path=None,
        stdout_path=out,
        log_path=c.log_path(f"tap-concurrency-{concurrency}"),
        env=c.child_env(),
    )
    uuids = []
    with out.open("rb") as lines:
        for line in lines:
            if b'"RECORD"' in line[:64]:
                uuids.append(json.loads(line)["record"]["uuid"])
    return run, uuids, catalog


def archive_filter_cost(url: str) -> dict[str, float]:
    """Seconds of one archived query over everything, per form of its filter (best of two).

    The emulator charges ``--archive-cost-multiplier`` times the row cost unless
    the filter constrains ``spec.message_kind`` with ``==``/``in``; the tap sends
    ``spec.message_kind exists`` (all kinds), which the emulator does not count.
    """
    session = login(url)
    path = "/v1/namespaces/acme/audit-logs/archived"
    since = f"meta.create_time >= date({c.START_DATE})"
    forms = {
        "no spec.message_kind": since,
        "spec.message_kind exists (the tap's)": f"spec.message_kind exists and {since}",
        "spec.message_kind == one kind": (
            f"spec.message_kind=='internal.endor.ai.endor.v1.Policy' and {since}"
        ),
    }
    seconds = {}
    for name, query in forms.items():
        params = {"list_parameters.filter": query, "list_parameters.page_size": "500"}
        best = float("inf")
        for _ in range(2):
            started = time.perf_counter()
            session.get(url + path, params=params, timeout=300).raise_for_status()
            best = min(best, time.perf_counter() - started)
        seconds[name] = best
    return seconds


def bench(latency: float, audit_logs: int, say: Callable[[str], None]) -> list[Row]:
    """Every contender against one emulator answering in ``latency`` seconds."""
    rows: list[Row] = []
    flags = (
        "--seed", "13", "--base-latency", str(latency), "--row-cost-us", ROW_COST_US,
        "--audit-logs", str(audit_logs), "--audit-days", "365", "--projects", "1", "--verbose",
    )  # fmt: skip
    with start_emulator(*flags) as server:
        expected = sum(
            1
            for o in all_objects(server.url, "audit-logs")
            if o["tenant_meta"]["namespace"] == "acme"
        )
        for form, seconds in archive_filter_cost(server.url).items():
            say(f"latency {latency}s: one archived query over everything, {form}: {seconds:.2f}s")
        catalog = None
        reference: list[str] = []
        windows: list[tuple[str, dict[str, str]]] = []
        for n in CONCURRENCY:
            mark = len(server.output)
            run, uuids, catalog = run_tap(server.url, n, catalog)
            sent = list_requests(server, mark)
            if n == 1:
                reference, windows = uuids, first_pages(sent)
            row = Row(latency, "tap-endorlabs", n, run.seconds, len(uuids))
            row.identical = uuids == reference and len(uuids) == expected
            row.peak_mb = run.peak_rss_mb
            row.requests = len(sent)
            if run.returncode != 0:
                row.notes.append(f"exit {run.returncode}: {run.log_tail(3)}")
            rows.append(row)
            say(f"  tap x{n}: {run.seconds:.2f}s, {len(uuids)} records, {len(sent)} requests")
        for n in (0, *CONCURRENCY[1:]):
            mark = len(server.output)
            seconds, uuids = floor(server.url, windows, n)
            name = "floor: sequential loop" if n == 0 else "floor: thread pool"
            row = Row(latency, name, max(n, 1), seconds, len(uuids), uuids == reference)
            row.requests = len(list_requests(server, mark))
            rows.append(row)
            say(f"  {name} x{max(n, 1)}: {seconds:.2f}s")
    return rows


def table(rows: list[Row]) -> str:
    """The Markdown table, with speed-up vs the tap at 1 and the ratio to the pool floor."""
    lines = [
        "| latency | contender | concurrent | seconds | records | speed-up vs tap x1 | "
        "vs pool floor | identical | peak RSS MB | requests/record |",
        "|---:|:---|---:|---:|---:|---:|---:|:---:|---:|---:|",
    ]
    for row in rows:
        ones = [r for r in rows if r.latency == row.latency and r.contender == "tap-endorlabs"]
        one = next((r for r in ones if r.concurrency == 1), None)
        pool = next(
            (
                r
                for r in rows
                if r.latency == row.latency
                and r.contender == "floor: thread pool"
                and r.concurrency == row.concurrency
            ),
            None,
        )
        if pool is None and row.concurrency == 1:
            pool = next(
                (
                    r
                    for r in rows
                    if r.latency == row.latency and r.contender == "floor: sequential loop"
                ),
                None,
            )
        speed = f"{one.seconds / row.seconds:.1f}x" if one else ""
        versus = f"{row.seconds / pool.seconds:.2f}" if pool else ""
        per = f"{row.requests / row.records:.4f}" if row.requests and row.records else ""
        lines.append(
            f"| {row.latency} | {row.contender} | {row.concurrency} | {row.seconds:.2f} | "
            f"{row.records} | {speed} | {versus} | {'yes' if row.identical else 'NO'} | "
            f"{'' if row.peak_mb is None else f'{row.peak_mb:.0f}'} | {per} |"
        )
    return "\n".join(lines)


def goals(rows: list[Row]) -> list[str]:
    """The issue's goals at 8 concurrent requests, met or not."""
    said = []
    for latency in sorted({r.latency for r in rows}):
        taps = {
            r.concurrency: r
            for r in rows
            if r.latency == latency and r.contender == "tap-endorlabs"
        }
        pool = next(
            r
            for r in rows
            if r.latency == latency and r.contender == "floor: thread pool" and r.concurrency == 8
        )
        speed = taps[1].seconds / taps[8].seconds
        ratio = taps[8].seconds / pool.seconds
        peak = max(r.peak_mb or 0 for r in taps.values())
        same = all(r.identical for r in taps.values())
        said += [
            f"- latency {latency}s: at 8, {speed:.1f}x faster than at 1 (goal >= 5x: "
            f"{'met' if speed >= 5 else 'NOT met'}); {ratio:.2f}x the thread-pool floor "
            f"(goal <= 1.3x: {'met' if ratio <= 1.3 else 'NOT met'}); peak RSS {peak:.0f} MB "
            f"(goal < 200 MB: {'met' if peak < 200 else 'NOT met'}); records identical at "
            f"every concurrency: {'yes' if same else 'NO'}",
        ]
    return said


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, nargs="+", default=[0.1])
    parser.add_argument("--audit-logs", type=int, default=6000)
    args = parser.parse_args(argv)
    notes: list[str] = []

    def say(text: str) -> None:
        print(text, flush=True)
        notes.append(text)

    rows = [row for latency in args.latency for row in bench(latency, args.audit_logs, say)]
    print()
    print(table(rows))
    print()
    print("\n".join(goals(rows)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
