"""Issue 23: findings at the API's pace, and many namespaces read at once.

``python -m benchmarks.tap_pace [--latency 0.15]``

Each emulator answers every list call in ``--latency`` seconds (``--base-latency``;
the real API's fixed cost per request, what the tap can hide by asking less and
asking in parallel).  Measured in one run:

1. **Findings against audit logs**, one emulator (scans of 400 findings, 40,000 audit
   logs over 60 days): the tap reading ``findings`` alone, then ``audit_logs`` alone, at
   its default ``max_concurrent_requests`` (4); records/s of each and their ratio
   (goal: findings >= 0.5x audit logs; 0.10x before issue 23, one ``uuid in [100]``
   request after another, scan after scan).
2. **Many namespaces**, one emulator with 24 child namespaces (one project each,
   a few hundred audit logs over them): ``audit_logs`` and ``findings`` with
   ``include_child_namespaces``, at 1 and at 8 concurrent requests; records/s,
   speed-up (goal >= 4x) and whether both runs emitted the same records and states.

Prints a Markdown table for ``benchmarks/README.md``.  Not a test: nothing is
asserted, the goals are reported as met or not.
"""

from __future__ import annotations

import argparse
import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from benchmarks import contenders as c
from benchmarks.measure import run_child
from benchmarks.paths import work_dir
from tests.support.servers import start_emulator

CHILDREN = 24
MANY_NAMESPACES_CONCURRENCY = (1, 8)
# The data spans 60 days: a start 90 days back reads all of it without walking
# years of empty windows in each namespace.
START_DATE = (datetime.now(UTC) - timedelta(days=90)).strftime("%Y-%m-%dT00:00:00Z")


@dataclass
class Run:
    """One tap run: what it read, how fast, and a digest of everything it emitted."""

    label: str
    concurrency: int
    seconds: float
    records: int
    peak_mb: float
    digest: str
    failed: str | None = None

    @property
    def rate(self) -> float:
        """Records per second."""
        return self.records / self.seconds if self.seconds else 0.0


def tap_run(url: str, label: str, streams: set[str], concurrency: int, **settings: object) -> Run:
    """The tap selecting ``streams`` at ``concurrency``; records counted, output digested."""
    name = f"tap-pace-{label}-{concurrency}".replace(" ", "-")
    config = c.write_config(
        name,
        c.tap_config(
            url, max_concurrent_requests=concurrency, **{"start_date": START_DATE, **settings}
        ),
    )
    catalog = c.discover_catalog(config, streams, name)
    out = work_dir("out") / f"{name}.singer"
    run = run_child(
        f"tap-endorlabs {label} x{concurrency}",
        [str(c.TAP), "--config", str(config), "--catalog", str(catalog)],
        stdin_path=None,
        stdout_path=out,
        log_path=c.log_path(name),
        env=c.child_env(),
    )
    records, digest = _emitted(out)
    failed = None if run.returncode == 0 else f"exit {run.returncode}: {run.log_tail(3)}"
    return Run(label, concurrency, run.seconds, records, run.peak_rss_mb, digest, failed)


def _emitted(path: Path) -> tuple[int, str]:
    """How many RECORDs, and a digest of every record and state in order (not their times)."""
    records = 0
    digest = hashlib.sha256()
    with path.open("rb") as lines:
        for line in lines:
            message = json.loads(line)
            if message.get("type") == "RECORD":
                records += 1
                digest.update(json.dumps(message["record"], sort_keys=True).encode())
            elif message.get("type") == "STATE":
                digest.update(json.dumps(message["value"], sort_keys=True).encode())
    return records, digest.hexdigest()[:12]


def findings_against_audit_logs(latency: float) -> list[Run]:
    """Part 1: the two streams' records/s from one emulator at the default concurrency."""
    flags = (
        "--seed", "23", "--base-latency", str(latency), "--projects", "10",
        "--scans-per-project", "4", "--findings-per-scan", "400",
        "--audit-logs", "40000", "--audit-days", "60",
    )  # fmt: skip
    with start_emulator(*flags) as server:
        return [
            tap_run(server.url, "findings", {"findings"}, 4),
            tap_run(server.url, "audit logs", {"audit_logs"}, 4),
        ]


def many_namespaces(latency: float) -> list[Run]:
    """Part 2: audit logs and findings over 25 namespaces, at 1 and 8 concurrent requests."""
    children = ",".join(f"team{n:02d}" for n in range(CHILDREN))
    flags = (
        "--seed", "23", "--base-latency", str(latency), "--child-namespaces", children,
        "--projects", str(CHILDREN + 1), "--scans-per-project", "2", "--findings-per-scan", "60",
        "--audit-logs", "1500", "--audit-days", "60",
    )  # fmt: skip
    with start_emulator(*flags) as server:
        return [
            tap_run(
                server.url,
                "many namespaces",
                {"audit_logs", "findings"},
                n,
                include_child_namespaces=True,
            )
            for n in MANY_NAMESPACES_CONCURRENCY
        ]


def table(latency: float, pace: list[Run], spread: list[Run]) -> str:
    """The Markdown table and the goals."""
    lines = [
        f"| run (latency {latency * 1000:.0f} ms a request) | concurrent | seconds | records | "
        "records/s | ratio | peak RSS MB |",
        "|:---|---:|---:|---:|---:|---:|---:|",
    ]
    findings, audit = pace
    ratio = findings.rate / audit.rate if audit.rate else 0.0
    lines.append(_line(findings, f"{ratio:.2f}x audit logs"))
    lines.append(_line(audit, ""))
    one, many = spread
    speed = many.rate / one.rate if one.rate else 0.0
    lines.append(_line(one, ""))
    lines.append(_line(many, f"{speed:.1f}x at 1"))
    same = one.digest == many.digest and one.records == many.records
    lines += [
        "",
        f"- findings {ratio:.2f}x the audit logs' records/s (goal >= 0.5: "
        f"{'met' if ratio >= 0.5 else 'NOT met'})",
        f"- {CHILDREN + 1} namespaces at 8 concurrent requests: {speed:.1f}x the records/s at 1 "
        f"(goal >= 4x: {'met' if speed >= 4 else 'NOT met'}); records and states identical: "
        f"{'yes' if same else 'NO'}",
    ]
    lines += [
        f"- {run.label} x{run.concurrency} failed: {run.failed}"
        for run in [*pace, *spread]
        if run.failed
    ]
    return "\n".join(lines)


def _line(run: Run, ratio: str) -> str:
    return (
        f"| {run.label} | {run.concurrency} | {run.seconds:.2f} | {run.records} | "
        f"{run.rate:,.0f} | {ratio} | {run.peak_mb:.0f} |"
    )


def main(argv: list[str] | None = None) -> int:
    """Run both parts and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=0.15)
    args = parser.parse_args(argv)
    pace = findings_against_audit_logs(args.latency)
    for run in pace:
        print(
            f"  {run.label} x{run.concurrency}: {run.seconds:.2f}s, {run.records} records",
            flush=True,
        )
    spread = many_namespaces(args.latency)
    for run in spread:
        print(
            f"  {run.label} x{run.concurrency}: {run.seconds:.2f}s, {run.records} records",
            flush=True,
        )
    print()
    print(table(args.latency, pace, spread))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
