"""Peak memory of the target when one input line is huge (issue 21): bounded by max_line_bytes.

``python -m benchmarks.line_memory [--mib 256]`` feeds the target one RECORD whose
line is ``--mib`` MiB, once with the default ``max_line_bytes`` (64 MiB: the line is
refused after that much is read) and once with a limit above the line (the line is
read, decoded and written), and prints the peak resident memory of each run.
Before issue 21 there was no limit: a 100 MB line took 556 MB, a 1 GB line 5 GB.
Needs no S3: the refused run stops before any upload, and the accepted run points
at a port nobody listens on (its upload fails after the line was handled).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

MIB = 1 << 20
TARGET = [
    sys.executable,
    "-c",
    "from target_s3_endor.target import TargetS3Endor; TargetS3Endor.cli()",
]


def _input_file(directory: Path, mib: int) -> Path:
    path = directory / "huge.singer"
    schema = {
        "type": "SCHEMA",
        "stream": "audit_logs",
        "schema": {"type": "object"},
        "key_properties": [],
    }
    with path.open("wb") as out:
        out.write(json.dumps(schema).encode() + b"\n")
        out.write(b'{"type":"RECORD","stream":"audit_logs","record":{"uuid":"u1","blob":"')
        chunk = b"x" * MIB
        for _ in range(mib):
            out.write(chunk)
        out.write(b'"}}\n')
    return path


def _peak_mib(config: dict[str, object], source: Path, directory: Path) -> tuple[float, str]:
    config_path = directory / "config.json"
    config_path.write_text(json.dumps(config))
    with source.open("rb") as stdin:
        done = subprocess.run(
            [*TARGET, "--config", str(config_path)],
            stdin=stdin,
            capture_output=True,
            text=True,
            check=False,
            env={**os.environ, "AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "y"},
        )
    last = (done.stderr.strip().splitlines() or [""])[-1]
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # KiB on Linux
    return peak, last[-160:]


def main(argv: list[str] | None = None) -> None:
    """Print one table: the limit, the peak memory and how the run ended."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.line_memory", description=__doc__)
    parser.add_argument("--mib", type=int, default=256, help="size of the one huge line")
    options = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as work:
        directory = Path(work)
        source = _input_file(directory, options.mib)
        base = {
            "bucket": "no-bucket-here",
            "endpoint_url": "http://127.0.0.1:9",
            "region": "us-east-1",
            "max_attempts": 1,
            "max_retry_seconds": 0,
        }
        print(f"| one line of {options.mib} MiB | peak RSS | how the run ended |")
        print("|---|---|---|")
        # RUSAGE_CHILDREN keeps the largest child so far: the refused run goes first.
        for label, config in (
            ("max_line_bytes 64 MiB (default)", base),
            (
                f"max_line_bytes {options.mib + 1} MiB",
                {**base, "max_line_bytes": (options.mib + 1) * MIB},
            ),
        ):
            peak, last = _peak_mib(config, source, directory)
            print(f"| {label} | {peak:.0f} MiB | {last.split('| ')[-1]} |")


if __name__ == "__main__":
    main()
