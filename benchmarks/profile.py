"""Profile our target or tap under py-spy: ``python -m benchmarks.profile target|sarif|tap``.

Runs the same workload as the benchmark (100,000 audit logs into the local S3;
30,000 findings as SARIF; 200,000 audit logs from the emulator) under
``py-spy record`` (sampling, native threads included, GIL-idle samples kept),
writes collapsed stacks (speedscope and flamegraph.pl read them) to ``benchmarks/.work/profiles/``
and prints the functions with the most samples: self (where the time is spent)
and inclusive (which call owns it).
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import shutil
import subprocess
from pathlib import Path

from benchmarks import contenders as c
from benchmarks import datasets
from benchmarks.paths import PROJECT_BIN, work_dir
from benchmarks.s3 import client, empty_bucket, fresh_bucket

RATE = 250  # samples a second


def _pyspy() -> str:
    found = shutil.which("py-spy", path=str(PROJECT_BIN)) or shutil.which("py-spy")
    if not found:
        raise SystemExit("py-spy is not installed: .venv/bin/pip install py-spy (dev extra)")
    return found


def _record(name: str, command: list[str], stdin: Path | None, stdout: Path | None) -> Path:
    """Run ``command`` under py-spy; return the collapsed-stacks file (speedscope reads it too)."""
    out_dir = work_dir("profiles")
    collapsed = out_dir / f"{name}.txt"
    with (
        (stdin or Path(os.devnull)).open("rb") as source,
        (stdout or Path(os.devnull)).open("wb") as sink,
        (out_dir / f"{name}.log").open("wb") as log,
    ):
        subprocess.run(
            [_pyspy(), "record", "--rate", str(RATE), "--idle", "--threads", "--nonblocking",
             "--format", "raw", "--output", str(collapsed), "--", *command],
            stdin=source,
            stdout=sink,
            stderr=log,
            env=c.child_env(),
            check=True,
        )  # fmt: skip
    return collapsed


def summarize(collapsed: Path, top: int = 25) -> str:
    """Top functions by self and by inclusive samples, from py-spy's collapsed stacks."""
    self_counts: collections.Counter[str] = collections.Counter()
    inclusive: collections.Counter[str] = collections.Counter()
    total = 0
    for line in collapsed.read_text(encoding="utf-8").splitlines():
        stack, _, count_text = line.rpartition(" ")
        count = int(count_text)
        frames = [frame.split(" (", 1)[0] + _where(frame) for frame in stack.split(";")[1:]]
        if not frames:
            continue
        total += count
        self_counts[frames[-1]] += count
        for frame in set(frames):
            inclusive[frame] += count
    lines = [f"{total} samples ({total / RATE:.1f} s of thread time)", "", "self:"]
    lines += [f"  {100 * n / total:5.1f}%  {frame}" for frame, n in self_counts.most_common(top)]
    lines += ["", "inclusive:"]
    lines += [f"  {100 * n / total:5.1f}%  {frame}" for frame, n in inclusive.most_common(top)]
    return "\n".join(lines)


def _where(frame: str) -> str:
    """``(file.py:line)`` shortened to the file name, so a function's lines merge."""
    if " (" not in frame:
        return ""
    location = frame.split(" (", 1)[1].rstrip(")")
    return f" ({Path(location.rsplit(':', 1)[0]).name})"


def main(argv: list[str] | None = None) -> int:
    """Profile one workload and print where its time goes."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.profile", description=__doc__)
    parser.add_argument("what", choices=["target", "sarif", "tap"])
    parser.add_argument("--records", type=int, default=100_000, help="audit logs for 'target'")
    options = parser.parse_args(argv)
    from tests.support.servers import start_emulator, start_local_s3

    if options.what == "tap":
        with start_emulator("--seed", "7", "--row-cost-us", "0", "--audit-logs", "200000") as api:
            cfg = c.write_config("profile-tap", c.tap_config(api.url))
            catalog = c.discover_catalog(cfg, {"audit_logs"}, "profile-tap")
            command = [str(c.TAP), "--config", str(cfg), "--catalog", str(catalog)]
            collapsed = _record("tap", command, None, work_dir("out") / "profile-tap.singer")
    else:
        with start_local_s3() as s3_server:
            s3 = client(s3_server.url)
            bucket = fresh_bucket(s3, "profile")
            if options.what == "target":
                data = datasets.audit_log_file(options.records)
                cfg = c.write_config("profile", c.target_config(s3_server.url, bucket, "json"))
            else:
                data = datasets.scan_findings_file(30_000)
                cfg = c.write_config("profile", c.target_config(s3_server.url, bucket, "sarif"))
            collapsed = _record(options.what, [str(c.TARGET), "--config", str(cfg)], data, None)
            empty_bucket(s3, bucket)
    print(summarize(collapsed))
    print(f"\nflame graph: load {collapsed} into https://www.speedscope.app")
    print(json.dumps({"collapsed": str(collapsed)}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
