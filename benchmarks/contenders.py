"""How each contender is started: commands and configs, in one place.

Configs are written to ``benchmarks/.work/configs``; logs (stderr) to
``benchmarks/.work/logs``. The project's own executables come from the venv
that runs the benchmarks.
"""

from __future__ import annotations

import json
import os
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from benchmarks.paths import PROJECT_BIN, REPO_ROOT, work_dir
from benchmarks.s3 import ACCESS_KEY, REGION, SECRET_KEY

TARGET = PROJECT_BIN / "target-s3-endor"
TAP = PROJECT_BIN / "tap-endorlabs"
PYTHON = PROJECT_BIN / "python"
PAGE_SIZE = 500
# The tap reads archived and active audit logs; a start date far back reaches all of them.
START_DATE = (datetime.now(UTC) - timedelta(days=5 * 365)).strftime("%Y-%m-%dT00:00:00Z")


def child_env() -> dict[str, str]:
    """Environment for every contender: the repo importable, the region set, no stray AWS config."""
    # PYTHONUNBUFFERED (set on some machines) would turn every write of the
    # contenders that print records into a system call: measure them as they
    # normally run, buffered.
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("AWS_") and k != "PYTHONUNBUFFERED"
    }
    env["AWS_DEFAULT_REGION"] = REGION
    env["PYTHONPATH"] = str(REPO_ROOT)
    return env


def write_config(name: str, config: dict[str, Any]) -> Path:
    """Write a contender's config file and return its path."""
    path = work_dir("configs") / f"{name}.json"
    path.write_text(json.dumps(config, indent=2), encoding="utf-8")
    return path


def log_path(name: str) -> Path:
    """Where a contender's stderr goes."""
    return work_dir("logs") / f"{name}.log"


def available(executable: Path) -> str | None:
    """None if ``executable --about`` works, else why not (the pieces are still being written)."""
    if not executable.exists():
        return f"{executable.name} is not installed in the venv yet"
    probe = subprocess.run(
        [str(executable), "--about", "--format=json"],
        capture_output=True,
        text=True,
        env=child_env(),
        check=False,
        timeout=120,
    )
    if probe.returncode != 0:
        last = (probe.stderr.strip().splitlines() or ["no output"])[-1]
        return f"{executable.name} --about failed: {last[:120]}"
    return None


def target_config(endpoint_url: str, bucket: str, fmt: str, **extra: Any) -> dict[str, Any]:
    """target-s3-endor's config for the local S3 (contract: docs/CONTRACTS.md, brief)."""
    return {
        "bucket": bucket,
        "endpoint_url": endpoint_url,
        "region": REGION,
        "aws_access_key_id": ACCESS_KEY,
        "aws_secret_access_key": SECRET_KEY,
        "format": fmt,
        "compression": "zip",
        **extra,
    }


def tap_config(api_url: str, **extra: Any) -> dict[str, Any]:
    """tap-endorlabs' config against the emulator."""
    return {
        "api_url": api_url,
        "namespace": "acme",
        "api_key": "demo-key",
        "api_secret": "demo-secret",
        "start_date": START_DATE,
        "page_size": PAGE_SIZE,
        **extra,
    }


def select_streams(catalog: dict[str, Any], streams: set[str]) -> dict[str, Any]:
    """Mark exactly ``streams`` selected in a discovered catalog."""
    for entry in catalog["streams"]:
        chosen = entry["tap_stream_id"] in streams or entry.get("stream") in streams
        for item in entry.get("metadata", []):
            if item.get("breadcrumb") == []:
                item.setdefault("metadata", {})["selected"] = chosen
    return catalog


def discover_catalog(config_path: Path, streams: set[str], name: str) -> Path:
    """Run the tap's discovery and write a catalog selecting ``streams``."""
    result = subprocess.run(
        [str(TAP), "--config", str(config_path), "--discover"],
        capture_output=True,
        text=True,
        env=child_env(),
        check=True,
        timeout=300,
    )
    catalog = select_streams(json.loads(result.stdout), streams)
    path = work_dir("configs") / f"{name}-catalog.json"
    path.write_text(json.dumps(catalog), encoding="utf-8")
    return path
