"""Benchmarks of issue 7: ``python -m benchmarks.run [--quick] [--only target|tap|e2e|sarif]``.

Prints one Markdown table (paste it into ``benchmarks/README.md``) and saves it
with the raw numbers in ``benchmarks/.work/results-<time>.{md,json}``.
Every contender's output is read back from the local S3 and counted; a run that
fails or writes the wrong number of records says so in the table instead of a rate.
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import psutil  # type: ignore[import-untyped]

from benchmarks import contenders as c
from benchmarks import datasets, s3_jsonl
from benchmarks.measure import ChildRun, run_child, run_pipeline
from benchmarks.paths import work_dir
from benchmarks.s3 import client, count_output, empty_bucket, fresh_bucket
from tests.support.emulator_client import all_objects

TARGET_SIZES_FULL = (100_000, 1_000_000)
TARGET_SIZES_QUICK = (100_000,)
# The emulator spreads audit logs over acme and its child namespaces (about 82% in
# acme itself); 245,000 in all leaves at least 200,000 in the namespace the tap reads.
TAP_AUDIT_LOGS = 245_000
E2E_AUDIT_LOGS = 245_000
E2E_PROJECTS, E2E_SCANS_PER_PROJECT, E2E_FINDINGS_PER_SCAN = 100, 20, 10
SARIF_FINDINGS = 30_000
EMULATOR_SEED = "7"


@dataclass
class Row:
    """One line of the table."""

    benchmark: str
    contender: str
    records: int | None = None
    seconds: float | None = None
    peak_mb: float | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def rate(self) -> float | None:
        """Records per second (None if the run failed)."""
        if self.records is None or not self.seconds:
            return None
        return self.records / self.seconds


def _row_from(benchmark: str, contender: str, run: ChildRun, expected: int, written: int) -> Row:
    """A row for a measured run, or a failure row naming what went wrong."""
    if run.returncode != 0:
        tail = run.log_tail(3).replace("\n", " | ")[-300:]
        return Row(benchmark, contender, notes=[f"FAILED (exit {run.returncode}): {tail}"])
    row = Row(benchmark, contender, written, run.seconds, run.peak_rss_mb)
    if written != expected:
        row.notes.append(f"WRONG OUTPUT: {written} of {expected} records")
    return row


def _ratio_notes(ours: Row, others: dict[str, Row]) -> None:
    """Append 'throughput vs' and 'time vs' notes to our row."""
    for name, other in others.items():
        if ours.rate and other.rate:
            ours.notes.append(
                f"{ours.rate / other.rate:.2f}x the rate of {name} "
                f"({ours.seconds / other.seconds:.2f}x its time)"  # type: ignore[operator]
            )


# --- 1. target ----------------------------------------------------------------------


def bench_target(s3_url: str, count: int) -> list[Row]:
    """Floor, target-s3-jsonl and target-s3-endor on the same audit-log file and server."""
    name = f"target {count:,} audit logs"
    data = datasets.audit_log_file(count)
    s3 = client(s3_url)
    rows: list[Row] = []

    def measured(contender: str, command: list[str], bucket: str) -> Row:
        run = run_child(
            contender,
            command,
            stdin_path=data,
            stdout_path=None,
            log_path=c.log_path(f"target-{count}-{contender}"),
            env=c.child_env(),
        )
        written = count_output(s3, bucket).records if run.returncode == 0 else 0
        empty_bucket(s3, bucket)
        return _row_from(name, contender, run, count, written)

    bucket = fresh_bucket(s3, "bench-floor")
    floor_cfg = c.write_config(
        "floor-target",
        {
            "endpoint_url": s3_url,
            "bucket": bucket,
            "key": "audit_logs.zip",
            "region": "us-east-1",
            "aws_access_key_id": "testing",
            "aws_secret_access_key": "testing-secret",
        },
    )
    floor = measured(
        "floor (json+zipfile+boto3)",
        [str(c.PYTHON), "-m", "benchmarks.floors", "target", str(floor_cfg)],
        bucket,
    )
    rows.append(floor)

    try:
        executable = s3_jsonl.ensure_installed()
    except subprocess.CalledProcessError as error:
        rows.append(Row(name, "target-s3-jsonl 2.0.1 (gzip)", notes=[f"cannot install: {error}"]))
        jsonl = None
    else:
        bucket = fresh_bucket(s3, "bench-s3-jsonl")
        cfg = c.write_config("s3-jsonl", s3_jsonl.config(s3_url, bucket))
        jsonl = measured(
            "target-s3-jsonl 2.0.1 (gzip)", [str(executable), "--config", str(cfg)], bucket
        )
        rows.append(jsonl)

    why_not = c.available(c.TARGET)
    if why_not:
        rows.append(Row(name, "target-s3-endor (json, zip)", notes=[f"not measured: {why_not}"]))
        return rows
    bucket = fresh_bucket(s3, "bench-endor")
    cfg = c.write_config("endor-target", c.target_config(s3_url, bucket, "json"))
    ours = measured("target-s3-endor (json, zip)", [str(c.TARGET), "--config", str(cfg)], bucket)
    others = {"floor": floor} | ({"target-s3-jsonl": jsonl} if jsonl else {})
    _ratio_notes(ours, others)
    if ours.peak_mb is not None:
        ours.notes.append(f"peak RSS goal <150 MB: {'met' if ours.peak_mb < 150 else 'NOT met'}")
    rows.append(ours)
    return rows


# --- 2. tap ---------------------------------------------------------------------------


@contextmanager
def emulator(*flags: str) -> Iterator[str]:
    """A running emulator (contract section 2); yields its base URL."""
    from tests.support.servers import start_emulator

    with start_emulator("--seed", EMULATOR_SEED, "--row-cost-us", "0", *flags) as server:
        yield server.url


def _count_lines(path: Path, *needles: bytes) -> int:
    """Lines whose first 64 bytes hold any of ``needles`` (every line if none given)."""
    with path.open("rb") as handle:
        return sum(1 for line in handle if not needles or any(n in line[:64] for n in needles))


def bench_tap() -> list[Row]:
    """tap-endorlabs (audit_logs only) against a plain requests loop over the same endpoints."""
    name = "tap: all audit logs of acme"
    why_not = c.available(c.TAP)
    rows: list[Row] = []
    with emulator("--audit-logs", str(TAP_AUDIT_LOGS), "--projects", "1") as url:
        expected = sum(
            1
            for obj in all_objects(url, "audit-logs")
            if (obj.get("tenant_meta") or {}).get("namespace") == "acme"
        )
        since = f"meta.create_time >= date({c.START_DATE})"
        floor_cfg = c.write_config(
            "floor-tap",
            {
                **c.tap_config(url),
                "sort_path": "meta.create_time",
                "queries": [
                    {
                        "path": "audit-logs/archived",
                        "filter": f"spec.message_kind exists and {since}",
                    },
                    {"path": "audit-logs", "filter": since},
                ],
            },
        )
        out = work_dir("out") / "floor-tap.jsonl"
        run = run_child(
            "floor",
            [str(c.PYTHON), "-m", "benchmarks.floors", "tap", str(floor_cfg)],
            stdin_path=None,
            stdout_path=out,
            log_path=c.log_path("tap-floor"),
            env=c.child_env(),
        )
        written = _count_lines(out) if run.returncode == 0 else 0
        floor = _row_from(name, "floor (requests loop)", run, expected, written)
        rows.append(floor)
        if why_not:
            rows.append(Row(name, "tap-endorlabs", notes=[f"not measured: {why_not}"]))
            return rows
        cfg = c.write_config("endor-tap", c.tap_config(url))
        catalog = c.discover_catalog(cfg, {"audit_logs"}, "tap-audit-logs")
        out = work_dir("out") / "endor-tap.singer"
        run = run_child(
            "tap-endorlabs",
            [str(c.TAP), "--config", str(cfg), "--catalog", str(catalog)],
            stdin_path=None,
            stdout_path=out,
            log_path=c.log_path("tap-endor"),
            env=c.child_env(),
        )
        written = _count_lines(out, b'"type":"RECORD"', b'"type": "RECORD"')
        ours = _row_from(name, "tap-endorlabs (audit_logs)", run, expected, written)
        _ratio_notes(ours, {"floor": floor})
        if ours.seconds and floor.seconds:
            ratio = ours.seconds / floor.seconds
            ours.notes.append(f"time goal <=1.3x floor: {'met' if ratio <= 1.3 else 'NOT met'}")
        rows.append(ours)
    return rows


# --- 3. end to end -------------------------------------------------------------------


def bench_e2e(s3_url: str) -> list[Row]:
    """tap-endorlabs | target-s3-endor over audit logs plus scans with their findings."""
    name = f"e2e: acme's audit logs + {E2E_PROJECTS * E2E_SCANS_PER_PROJECT:,} scans"
    why_not = c.available(c.TAP) or c.available(c.TARGET)
    if why_not:
        return [Row(name, "tap | target", notes=[f"not measured: {why_not}"])]
    s3 = client(s3_url)
    bucket = fresh_bucket(s3, "bench-e2e")
    flags = [
        "--audit-logs", str(E2E_AUDIT_LOGS),
        "--projects", str(E2E_PROJECTS),
        "--scans-per-project", str(E2E_SCANS_PER_PROJECT),
        "--findings-per-scan", str(E2E_FINDINGS_PER_SCAN),
    ]  # fmt: skip
    with emulator(*flags) as url:
        tap_cfg = c.write_config("e2e-tap", c.tap_config(url))
        catalog = c.discover_catalog(
            tap_cfg, {"audit_logs", "scan_results", "findings", "projects"}, "e2e"
        )
        target_cfg = c.write_config("e2e-target", c.target_config(s3_url, bucket, "json"))
        tap_run, target_run, seconds = run_pipeline(
            ("tap-endorlabs", [str(c.TAP), "--config", str(tap_cfg), "--catalog", str(catalog)]),
            ("target-s3-endor", [str(c.TARGET), "--config", str(target_cfg)]),
            stdout_path=None,
            log_dir=work_dir("logs"),
            env=c.child_env(),
        )
    output = count_output(s3, bucket)
    empty_bucket(s3, bucket)
    rows = []
    for run in (tap_run, target_run):
        if run.returncode != 0:
            tail = run.log_tail(3).replace("\n", " | ")[-300:]
            rows.append(Row(name, run.name, notes=[f"FAILED (exit {run.returncode}): {tail}"]))
        else:
            rows.append(Row(name, run.name, output.records, run.seconds, run.peak_rss_mb))
    rows.append(
        Row(
            name,
            "pipeline (wall)",
            output.records,
            seconds,
            None,
            [f"{output.objects} objects written"],
        )
    )
    return rows


# --- 4. SARIF ------------------------------------------------------------------------


def bench_sarif(s3_url: str) -> list[Row]:
    """One scan of 30,000 findings: target-s3-endor as SARIF against the same as JSON."""
    name = f"sarif scan of {SARIF_FINDINGS:,} findings"
    why_not = c.available(c.TARGET)
    if why_not:
        return [Row(name, "target-s3-endor", notes=[f"not measured: {why_not}"])]
    data = datasets.scan_findings_file(SARIF_FINDINGS)
    s3 = client(s3_url)
    rows: dict[str, Row] = {}
    for fmt in ("json", "sarif"):
        bucket = fresh_bucket(s3, f"bench-{fmt}")
        cfg = c.write_config(f"endor-{fmt}", c.target_config(s3_url, bucket, fmt))
        run = run_child(
            fmt,
            [str(c.TARGET), "--config", str(cfg)],
            stdin_path=data,
            stdout_path=None,
            log_path=c.log_path(f"sarif-{fmt}"),
            env=c.child_env(),
        )
        written = count_output(s3, bucket).records if run.returncode == 0 else 0
        empty_bucket(s3, bucket)
        rows[fmt] = _row_from(name, f"target-s3-endor ({fmt}, zip)", run, SARIF_FINDINGS, written)
    json_row, sarif_row = rows["json"], rows["sarif"]
    if json_row.seconds and sarif_row.seconds:
        ratio = sarif_row.seconds / json_row.seconds
        sarif_row.notes.append(
            f"{ratio:.2f}x the JSON time; goal <1.5x: {'met' if ratio < 1.5 else 'NOT met'}"
        )
    return [json_row, sarif_row]


# --- table ---------------------------------------------------------------------------


def machine() -> str:
    """One line describing the machine the numbers come from."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = psutil.virtual_memory().total / 2**30
    return (
        f"{psutil.cpu_count()} CPUs ({cpu}), {memory:.0f} GiB RAM, "
        f"{platform.system()} {platform.release()}, Python {platform.python_version()}"
    )


def _fmt(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def table(rows: list[Row]) -> str:
    """The rows as a Markdown table."""
    lines = [
        "| benchmark | contender | records | seconds | records/s | peak RSS MB | notes |",
        "|---|---|---:|---:|---:|---:|---|",
    ]
    for row in rows:
        lines.append(
            f"| {row.benchmark} | {row.contender} | {_fmt(row.records, ',')} | "
            f"{_fmt(row.seconds, '.2f')} | {_fmt(row.rate, ',.0f')} | {_fmt(row.peak_mb, '.0f')} | "
            f"{'; '.join(row.notes)} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run the selected benchmarks against a fresh local S3 and print the table."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="skip the 1,000,000-record memory run")
    parser.add_argument("--only", choices=["target", "tap", "e2e", "sarif"], action="append")
    options = parser.parse_args(argv)
    chosen = set(options.only or ["target", "tap", "e2e", "sarif"])

    from tests.support.servers import start_local_s3

    rows: list[Row] = []
    started = datetime.now(UTC)
    with start_local_s3() as local_s3:
        plan: list[tuple[str, Callable[[], list[Row]]]] = []
        if "target" in chosen:
            for size in TARGET_SIZES_QUICK if options.quick else TARGET_SIZES_FULL:
                plan.append(("target", lambda size=size: bench_target(local_s3.url, size)))  # type: ignore[misc]
        if "tap" in chosen:
            plan.append(("tap", bench_tap))
        if "e2e" in chosen:
            plan.append(("e2e", lambda: bench_e2e(local_s3.url)))
        if "sarif" in chosen:
            plan.append(("sarif", lambda: bench_sarif(local_s3.url)))
        for label, step in plan:
            print(f"running {label} ...", file=sys.stderr, flush=True)
            done = step()
            rows.extend(done)
            print(table(done), file=sys.stderr, flush=True)  # partial results as they come
    header = f"Machine: {machine()}  \nDate: {started:%Y-%m-%d %H:%M} UTC"
    report = f"{header}\n\n{table(rows)}\n"
    print(report)
    stamp = f"{started:%Y%m%dT%H%M%S}"
    work_dir().joinpath(f"results-{stamp}.md").write_text(report, encoding="utf-8")
    work_dir().joinpath(f"results-{stamp}.json").write_text(
        json.dumps([asdict(row) | {"rate": row.rate} for row in rows], indent=2), encoding="utf-8"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
