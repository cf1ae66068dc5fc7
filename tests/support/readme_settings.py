"""Keep the README's settings tables equal to each plugin's `--about` output.

``python -m tests.support.readme_settings --write`` replaces the text between
``<!-- settings:PLUGIN:start -->`` and ``<!-- settings:PLUGIN:end -->`` in
README.md with the settings table of ``PLUGIN --about --format=markdown``; the
tests check that nothing has drifted.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from functools import cache
from pathlib import Path
from typing import Any

from tests.support.servers import REPO_ROOT

PLUGINS = ("tap-endorlabs", "target-s3-endor")
README = REPO_ROOT / "README.md"


def _about(plugin: str, fmt: str) -> str:
    executable = Path(sys.executable).parent / plugin
    return subprocess.run(
        [str(executable), "--about", f"--format={fmt}"],
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout


@cache
def about_json(plugin: str) -> dict[str, Any]:
    """The plugin's `--about --format=json` document."""
    return json.loads(_about(plugin, "json"))


@cache
def about_markdown_table(plugin: str) -> str:
    """The settings table (header to last row) of `--about --format=markdown`."""
    lines = _about(plugin, "markdown").splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("| Setting"))
    end = start
    while end < len(lines) and lines[end].startswith("|"):
        end += 1
    return "\n".join(lines[start:end])


def _markers(plugin: str) -> re.Pattern[str]:
    name = re.escape(plugin)
    return re.compile(
        rf"(<!-- settings:{name}:start -->)(.*?)(<!-- settings:{name}:end -->)", re.DOTALL
    )


def readme_table(plugin: str) -> str:
    """The table the README holds for a plugin."""
    match = _markers(plugin).search(README.read_text())
    assert match, f"README.md has no settings markers for {plugin}"
    return match.group(2).strip()


def write() -> None:
    """Refresh every plugin's table in README.md."""
    text = README.read_text()
    for plugin in PLUGINS:
        table = about_markdown_table(plugin)
        text = _markers(plugin).sub(lambda m, t=table: f"{m.group(1)}\n{t}\n{m.group(3)}", text)
    README.write_text(text)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--write", action="store_true", help="rewrite the tables in README.md")
    if parser.parse_args().write:
        write()
    else:
        for name in PLUGINS:
            print(about_markdown_table(name), end="\n\n")
