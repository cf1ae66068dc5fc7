"""Issue 19: what checking every window against the API's count adds to a backfill.

``python -m benchmarks.reconcile_cost [--latency 0.05] [--audit-logs N]``

One emulator (``--base-latency``, every list call and every count pays it),
audit logs over a year (archived and active), the tap reading ``audit_logs``
only at 1 and 4 concurrent requests, twice each:

- as shipped: every window counted (``list_parameters.count``) and compared;
- without the check: the same tap with its count callable taken away
  (``EndorStream.count_window`` patched to None in the child process, the
  only way to run it: the check has no setting, on purpose).

Prints a Markdown table: wall time, list requests and count requests (from
the emulator's access log), and the time the counts add.  Not a test: nothing
is asserted.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from benchmarks import contenders as c
from benchmarks.measure import run_child
from benchmarks.paths import work_dir
from tests.support.servers import ServerProcess, start_emulator

PAGE_SIZE = 100
ACCESS_LINE = re.compile(r'"GET (/v1/namespaces/acme/audit-logs[^ ]*) HTTP/1\.[01]" (\d+)')
#: The tap as shipped, and the tap without its count (patched in the child only).
LAUNCH = {
    "checked": "from tap_endorlabs.tap import TapEndorLabs; TapEndorLabs.cli()",
    "unchecked": (
        "import tap_endorlabs.client as client; "
        "client.EndorStream.count_window = None; "
        "from tap_endorlabs.tap import TapEndorLabs; TapEndorLabs.cli()"
    ),
}


@dataclass
class Row:
    """One line of the table."""

    variant: str
    concurrency: int
    seconds: float
    records: int
    list_requests: int
    count_requests: int
    reconciliations: int


def access_lines(server: ServerProcess, since: int) -> list[str]:
    """The emulator's access-log request paths logged after line ``since``."""
    return [m.group(1) for line in server.output[since:] if (m := ACCESS_LINE.search(line))]


def run(server: ServerProcess, variant: str, concurrency: int, catalog: Path) -> Row:
    """One tap run; its time, records and requests."""
    config = c.write_config(
        f"reconcile-{variant}-{concurrency}",
        c.tap_config(server.url, page_size=PAGE_SIZE, max_concurrent_requests=concurrency),
    )
    out = work_dir("out") / f"reconcile-{variant}-{concurrency}.singer"
    before = len(server.output)
    child = run_child(
        f"tap {variant} x{concurrency}",
        [sys.executable, "-c", LAUNCH[variant], "--config", str(config), "--catalog", str(catalog)],
        stdin_path=None,
        stdout_path=out,
        log_path=c.log_path(f"reconcile-{variant}-{concurrency}"),
        env=c.child_env(),
    )
    if child.returncode != 0:
        raise SystemExit(f"tap {variant} x{concurrency} failed: see {child.log_path}")
    records = reconciliations = 0
    with out.open("rb") as lines:
        for line in lines:
            if b'"RECORD"' not in line[:64]:
                continue
            stream = json.loads(line)["stream"]
            records += stream == "audit_logs"
            reconciliations += stream == "reconciliations"
    paths = access_lines(server, before)
    counts = sum("list_parameters.count=true" in path for path in paths)
    return Row(
        variant, concurrency, child.seconds, records, len(paths) - counts, counts, reconciliations
    )


def main(argv: list[str] | None = None) -> None:
    """Run both variants at 1 and 4 requests and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--audit-logs", type=int, default=50_000)
    args = parser.parse_args(argv)
    server = start_emulator(
        "--seed",
        "7",
        "--audit-logs",
        str(args.audit_logs),
        "--audit-days",
        "365",
        "--base-latency",
        str(args.latency),
        "--verbose",
    )
    try:
        config = c.write_config("reconcile-discover", c.tap_config(server.url))
        catalog = c.discover_catalog(config, {"audit_logs", "reconciliations"}, "reconcile")
        rows = [
            run(server, variant, concurrency, catalog)
            for concurrency in (1, 4)
            for variant in ("unchecked", "checked")
        ]
    finally:
        server.stop()
    print(
        f"{args.audit_logs:,} audit logs over a year, page_size {PAGE_SIZE}, "
        f"{args.latency * 1000:.0f} ms per API call\n"
    )
    print(
        "| tap | requests at once | seconds | audit logs | list requests | count requests "
        "| reconciliations | time added by the counts |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---|")
    base: dict[int, float] = {}
    for row in rows:
        added = ""
        if row.variant == "unchecked":
            base[row.concurrency] = row.seconds
        else:
            extra = row.seconds - base[row.concurrency]
            added = f"{extra:+.2f} s ({extra / base[row.concurrency]:+.0%})"
        print(
            f"| {row.variant} | {row.concurrency} | {row.seconds:.2f} | {row.records:,} "
            f"| {row.list_requests:,} | {row.count_requests:,} | {row.reconciliations:,} "
            f"| {added} |"
        )


if __name__ == "__main__":
    main()
