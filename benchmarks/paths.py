"""Where the benchmarks keep their work files and find the project."""

from __future__ import annotations

import sys
from pathlib import Path

from tap_endorlabs.schema_gen import DEFAULT_REFERENCE_DIR

REPO_ROOT = Path(__file__).resolve().parents[1]
WORK_DIR = REPO_ROOT / "benchmarks" / ".work"
REFERENCE_SCHEMAS = DEFAULT_REFERENCE_DIR
PROJECT_BIN = Path(sys.executable).parent


def work_dir(*parts: str) -> Path:
    """Return a directory under ``benchmarks/.work``, created on demand."""
    path = WORK_DIR.joinpath(*parts)
    path.mkdir(parents=True, exist_ok=True)
    return path
