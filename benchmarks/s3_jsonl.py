"""target-s3-jsonl 2.0.1 (PyPI), the usual S3 JSONL target, in its own venv.

It is from 2022 and pins old boto3; installing it into the project's venv would
downgrade boto3 there, so it lives in ``benchmarks/.work/venv-s3-jsonl``, created
on demand. It has no zip output: gzip (also deflate) is the nearest it offers, and
``gzip.open`` there uses compresslevel 9.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

from benchmarks.paths import WORK_DIR, work_dir
from benchmarks.s3 import ACCESS_KEY, SECRET_KEY

VERSION = "2.0.1"
VENV = WORK_DIR / "venv-s3-jsonl"
EXECUTABLE = VENV / "bin" / "target-s3-jsonl"


def ensure_installed() -> Path:
    """Create the venv and install target-s3-jsonl if missing; return its executable."""
    if EXECUTABLE.exists():
        return EXECUTABLE
    work_dir()
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(VENV)], check=True)
    subprocess.run(
        [
            str(VENV / "bin" / "python"),
            "-m",
            "pip",
            "install",
            "--quiet",
            f"target-s3-jsonl=={VERSION}",
        ],
        check=True,
    )
    return EXECUTABLE


def config(endpoint_url: str, bucket: str) -> dict[str, Any]:
    """Its config for the local S3 (keys read from target_s3_json/s3.py and target/file.py)."""
    return {
        "s3_bucket": bucket,
        "aws_endpoint_url": endpoint_url,
        "aws_access_key_id": ACCESS_KEY,
        "aws_secret_access_key": SECRET_KEY,
        "compression": "gzip",
        "work_dir": str(work_dir("s3-jsonl-tmp")),
        "path_template": "{stream}-{date_time:%Y%m%dT%H%M%S}.jsonl",
    }
