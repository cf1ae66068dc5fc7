"""The target's import graph: packages in layers, nothing imports upward, no cycle (issue 20).

And ``connector_common``, which both plugins import, imports neither of them.

The layers are ``[tool.importlinter]`` in pyproject.toml (the order the data flows);
import-linter checks them, here in ``make test`` as well as in ``make lint``.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.support.servers import REPO_ROOT

LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def test_the_target_keeps_its_layers() -> None:
    done = subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "2 kept, 0 broken" in done.stdout
