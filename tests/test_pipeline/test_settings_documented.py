"""Every setting a plugin accepts is declared in meltano.yml and documented in the README.

The README's settings tables are the output of `--about --format=markdown`
between markers; `python -m tests.support.readme_settings --write` refreshes them.
"""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from tests.support.readme_settings import PLUGINS, about_json, about_markdown_table, readme_table
from tests.support.servers import REPO_ROOT


def meltano_plugin(plugin: str) -> dict[str, Any]:
    """A plugin's entry in meltano.yml."""
    project = yaml.safe_load((REPO_ROOT / "meltano.yml").read_text())
    for kind in ("extractors", "loaders"):
        for entry in project["plugins"].get(kind, []):
            if entry["name"] == plugin:
                return entry
    raise AssertionError(f"{plugin} is not in meltano.yml")


def meltano_settings(plugin: str) -> dict[str, dict[str, Any]]:
    """A plugin's settings as meltano.yml declares them, by name."""
    return {setting["name"]: setting for setting in meltano_plugin(plugin).get("settings", [])}


@pytest.mark.parametrize("plugin", PLUGINS)
def test_meltano_yml_claims_only_capabilities_the_plugin_has(plugin: str) -> None:
    assert set(meltano_plugin(plugin)["capabilities"]) <= set(about_json(plugin)["capabilities"])


@pytest.mark.parametrize("plugin", PLUGINS)
def test_meltano_yml_declares_every_setting_with_its_secrecy(plugin: str) -> None:
    properties = about_json(plugin)["settings"]["properties"]
    declared = meltano_settings(plugin)
    assert set(declared) == set(properties)
    for name, schema in properties.items():
        secret = bool(schema.get("secret") or schema.get("writeOnly"))
        assert bool(declared[name].get("sensitive")) == secret, name


@pytest.mark.parametrize("plugin", PLUGINS)
def test_readme_settings_table_matches_about(plugin: str) -> None:
    assert readme_table(plugin) == about_markdown_table(plugin)
