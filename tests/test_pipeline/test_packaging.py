"""The package as users get it: the sdist and wheel build, and the wheel works on its own.

The wheel is installed into a new virtual environment (no site packages, not
this checkout), where both commands must answer ``--about`` and report the
version ``pyproject.toml`` holds, the one place it is written.

Cost (issue 23): the build runs without isolation (``python -m build
--no-isolation``, hatchling from the dev extra) and the clean environment is
made and filled by ``uv`` (installed with meltano): about 100 s less than an
isolated build and pip. What isolation proved, that ``[build-system] requires``
names everything the build needs, is checked on its own: the backend asks for
nothing more and no build hook (which could import another package) is set.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tarfile
import tomllib
import zipfile
from pathlib import Path

import yaml

from tests.support.servers import REPO_ROOT

PYPROJECT = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())
VERSION = PYPROJECT["project"]["version"]


def test_the_version_is_written_only_in_pyproject() -> None:
    sources = [*REPO_ROOT.glob("tap_endorlabs/*.py"), *REPO_ROOT.glob("target_s3_endor/*.py")]
    assert sources
    pattern = re.compile(rf"['\"]{re.escape(VERSION)}['\"]")
    assert [path.name for path in sources if pattern.search(path.read_text())] == []
    assert f"## [{VERSION}]" in (REPO_ROOT / "CHANGELOG.md").read_text()
    assert "Apache License" in (REPO_ROOT / "LICENSE").read_text()


def uv_executable() -> str:
    """The ``uv`` next to this interpreter (the dev extra installs it with meltano)."""
    found = shutil.which("uv", path=str(Path(sys.executable).parent)) or shutil.which("uv")
    assert found, "uv is not installed: make install (the dev extra brings it with meltano)"
    return found


def test_the_build_needs_only_what_build_system_requires() -> None:
    """What an isolated build would prove, for the build below that runs without isolation."""
    from build import ProjectBuilder

    assert PYPROJECT["build-system"] == {
        "requires": ["hatchling>=1.25"],
        "build-backend": "hatchling.build",
    }
    hatch = PYPROJECT.get("tool", {}).get("hatch", {})
    assert "hooks" not in hatch.get("build", {})
    assert "hooks" not in hatch.get("metadata", {})
    for target in hatch.get("build", {}).get("targets", {}).values():
        assert "hooks" not in target
    builder = ProjectBuilder(REPO_ROOT)
    assert builder.get_requires_for_build("wheel") == set()
    assert builder.get_requires_for_build("sdist") == set()
    # The dev extra carries the backend, so `make install` can build without isolation.
    dev = PYPROJECT["project"]["optional-dependencies"]["dev"]
    assert "hatchling>=1.25" in dev


def test_sdist_and_wheel_build_and_the_wheel_installs_alone(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(dist), str(REPO_ROOT)],
        check=True,
        capture_output=True,
        timeout=600,
    )
    stem = f"endorlabs_s3_export-{VERSION}"
    wheel, sdist = dist / f"{stem}-py3-none-any.whl", dist / f"{stem}.tar.gz"
    with tarfile.open(sdist) as archive:
        names = set(archive.getnames())
    assert {f"{stem}/LICENSE", f"{stem}/CHANGELOG.md", f"{stem}/README.md"} <= names
    with zipfile.ZipFile(wheel) as archive:
        members = set(archive.namelist())
    assert f"{stem}.dist-info/licenses/LICENSE" in members
    assert "tap_endorlabs/schemas/audit_logs.json" in members
    # The orchestration extra installs Dagster for these: they ship with it.
    assert {
        "orchestration/dagster_endor/definitions.py",
        "orchestration/dagster_endor/worker.py",
    } <= members

    clean = tmp_path / "venv"
    uv = uv_executable()
    subprocess.run(
        [uv, "venv", "--quiet", "--python", sys.executable, str(clean)],
        check=True,
        capture_output=True,
        timeout=120,
    )
    subprocess.run(
        [uv, "pip", "install", "--quiet", "--python", str(clean / "bin" / "python"), str(wheel)],
        check=True,
        capture_output=True,
        timeout=600,
    )
    for plugin in ("tap-endorlabs", "target-s3-endor"):
        about = subprocess.run(
            [str(clean / "bin" / plugin), "--about", "--format=json"],
            check=True,
            capture_output=True,
            text=True,
            timeout=120,
            cwd=tmp_path,  # not the checkout: nothing may come from it
        )
        info = json.loads(about.stdout)
        assert info["name"] == plugin
        assert info["version"] == VERSION
    worker = subprocess.run(
        [
            str(clean / "bin" / "python"),
            "-c",
            "from orchestration.dagster_endor.worker import meltano_run_args;"
            "print(' '.join(meltano_run_args('acme')))",
        ],
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    # Without the orchestration extra, endor-meltano says what is missing, in one line.
    alone = subprocess.run(
        [str(clean / "bin" / "endor-meltano"), "run"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        env={"PATH": str(clean / "bin")},
        check=False,
    )
    assert alone.returncode == 1
    assert alone.stderr.splitlines() == [
        "endor-meltano: error: meltano is not on PATH: "
        "pip install 'endorlabs-s3-export[orchestration]'"
    ]
    assert worker.stdout.split() == [
        "run",
        "--state-id-suffix=acme",
        "tap-endorlabs",
        "target-s3-endor",
    ]


def test_readme_adds_the_plugins_to_another_project_from_git() -> None:
    """``pip_url: -e .`` works only in a clone; the README's entries for another project use git."""
    readme = (REPO_ROOT / "README.md").read_text()
    blocks = [
        yaml.safe_load(block)
        for block in re.findall(r"```yaml\n(.*?)```", readme, re.DOTALL)
        if "pip_url" in block
    ]
    assert len(blocks) == 1
    ours = yaml.safe_load((REPO_ROOT / "meltano.yml").read_text())["plugins"]
    for kind in ("extractors", "loaders"):
        (shown,) = blocks[0]["plugins"][kind]
        (entry,) = ours[kind]
        assert shown["pip_url"].startswith("git+https://github.com/")
        assert shown["pip_url"].split("@")[0].endswith("/endorlabs-s3-export.git")
        for key in ("name", "namespace", "executable"):
            assert shown[key] == entry[key]
