"""Every setting of both plugins works from meltano.yml, the environment and ``.env``.

In meltano.yml both as values and as the text ``meltano config set`` stores.

The list of settings is meltano.yml's own, so a setting added there is covered
here without a line changed.  For each way of giving settings, one
``meltano config print`` per plugin (no install, no run: the same JSON Meltano
writes into the plugin's config file) must succeed, and what it prints must be
what the plugin reads: the value set, of the type the plugin's ``--about``
schema declares.  Meltano 4.4 died on this for every ``kind: decimal`` setting
read from the environment ("Object of type Decimal is not JSON serializable").

The plain pipe's ``--config=ENV`` reads the same variables without Meltano;
singer-sdk hands number settings over as text there, which each plugin must
read as the number (real plugin objects, one number setting at a time).
"""

from __future__ import annotations

import json
import os
import re
from datetime import datetime
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from singer_sdk.exceptions import ConfigValidationError

from connector_common.settings_text import numbers_from_text
from tap_endorlabs.tap import TapEndorLabs
from target_s3_endor.target import TargetS3Endor
from tests.support.readme_settings import PLUGINS, about_json
from tests.support.servers import REPO_ROOT
from tests.test_pipeline.meltano_project import run_meltano

pytestmark = pytest.mark.meltano
PROJECT = yaml.safe_load((REPO_ROOT / "meltano.yml").read_text())
# Object settings need a shape their schema accepts; any other object setting gets OTHER_OBJECT.
OBJECTS: dict[str, dict[str, Any]] = {
    "stream_maps": {"audit_logs": {"__alias__": "audit_events"}},
    "faker_config": {"seed": 7, "locale": "en_US"},
    "batch_config": {
        "encoding": {"format": "jsonl", "compression": "gzip"},
        "storage": {"root": "file:///tmp/batches"},
    },
    "security_lake_source_names": {"audit_logs": "endor_audit"},
}
OTHER_OBJECT = {"key": "value"}
WAYS = ("meltano.yml", "meltano.yml as text", "environment", ".env")


def plugin_entries() -> list[dict[str, Any]]:
    """Both plugins' entries in meltano.yml."""
    return [entry for kind in ("extractors", "loaders") for entry in PROJECT["plugins"][kind]]


def example(name: str, schema: dict[str, Any]) -> Any:
    """A value for a setting that its schema accepts and that differs from its default."""
    types = set(schema["type"]) if isinstance(schema["type"], list) else {schema["type"]}
    if "enum" in schema:
        return schema["enum"][-1]
    if "boolean" in types:
        return not schema.get("default", False)
    if "integer" in types:
        default = int(schema.get("default", 1))
        return default + 1 if default + 1 <= schema.get("maximum", default + 1) else default - 1
    if "number" in types:
        return float(schema.get("default", 1)) + 0.5
    if "object" in types:
        return OBJECTS.get(name, OTHER_OBJECT)
    if schema.get("format") == "date-time":
        return "2025-01-02T03:04:05Z"
    return f"{name}-value"


def as_text(value: Any) -> str:
    """How a user writes the value in an environment variable or ``.env``."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, dict):
        return json.dumps(value)
    return str(value)


def env_name(plugin: str, setting: dict[str, Any]) -> str:
    """Meltano's variable for a setting (``TAP_ENDORLABS_WINDOW_HOURS``)."""
    return setting.get("env") or f"{plugin}_{setting['name']}".upper().replace("-", "_")


def examples(plugin: str) -> dict[str, Any]:
    """One example value for every setting meltano.yml declares for the plugin."""
    properties = about_json(plugin)["settings"]["properties"]
    entry = next(entry for entry in plugin_entries() if entry["name"] == plugin)
    return {s["name"]: example(s["name"], properties[s["name"]]) for s in entry["settings"]}


def make_project(root: Path, way: str) -> dict[str, str]:
    """A project giving every setting of both plugins one way; the variables to run it with."""
    project = yaml.safe_load((REPO_ROOT / "meltano.yml").read_text())
    variables: dict[str, str] = {}
    for kind in ("extractors", "loaders"):
        for entry in project["plugins"][kind]:
            values = examples(entry["name"])
            if way == "meltano.yml":
                entry["config"] = values
            if way == "meltano.yml as text":  # what `meltano config set` writes
                entry["config"] = {name: as_text(value) for name, value in values.items()}
            for setting in entry["settings"]:
                variables[env_name(entry["name"], setting)] = as_text(values[setting["name"]])
    root.mkdir()
    (root / "meltano.yml").write_text(yaml.safe_dump(project, sort_keys=False))
    if way == ".env":
        lines = [f"{name}='{value}'" for name, value in variables.items()]
        (root / ".env").write_text("\n".join(lines) + "\n")
    return variables if way == "environment" else {}


def same(expected: Any, got: Any) -> bool:
    """Equal, date-times compared as instants (Meltano writes them back as ISO 8601)."""
    if isinstance(expected, str) and expected.endswith("Z") and isinstance(got, str):
        try:
            return datetime.fromisoformat(expected) == datetime.fromisoformat(got)
        except ValueError:
            pass
    return bool(expected == got and type(expected) is type(got))


@pytest.mark.parametrize("way", WAYS)
def test_every_setting_reaches_both_plugins_from_each_way(tmp_path: Path, way: str) -> None:
    root = tmp_path / "project"
    variables = make_project(root, way)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("TAP_", "TARGET_"))},
        "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false",
        **variables,
    }
    for plugin in PLUGINS:
        printed = run_meltano(root, ["config", "--unsafe", "print", plugin], env)
        assert printed.returncode == 0, f"{way}, {plugin}: {printed.stderr[-2000:]}"
        config = json.loads(printed.stdout)
        schema = about_json(plugin)["settings"]
        numbers_from_text(config, schema)  # what both plugins do before validating
        validator = jsonschema.validators.validator_for(schema)(schema)
        assert [error.message for error in validator.iter_errors(config)] == []
        wrong = {
            name: (value, config.get(name))
            for name, value in examples(plugin).items()
            if not same(value, config.get(name))
        }
        assert wrong == {}, f"{way}, {plugin}: expected vs read"


def number_settings(plugin: str) -> list[str]:
    """The plugin's settings whose schema is a number or an integer."""
    properties = about_json(plugin)["settings"]["properties"]
    return [
        name
        for name, schema in properties.items()
        if {"number", "integer"} & set(schema["type"] if isinstance(schema["type"], list) else [])
    ]


REQUIRED_ENV = {
    "tap-endorlabs": {"TAP_ENDORLABS_NAMESPACE": "acme", "TAP_ENDORLABS_TOKEN": "a-token"},
    "target-s3-endor": {
        "TARGET_S3_ENDOR_BUCKET": "a-bucket",
        "TARGET_S3_ENDOR_REGION": "us-east-1",
    },
}
CLASSES = {"tap-endorlabs": TapEndorLabs, "target-s3-endor": TargetS3Endor}


@pytest.mark.parametrize(
    ("plugin", "name"),
    [(plugin, name) for plugin in PLUGINS for name in number_settings(plugin)],
)
def test_config_env_reads_number_settings_as_numbers(
    plugin: str, name: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    schema = about_json(plugin)["settings"]["properties"][name]
    default = schema.get("default", 2)
    value = default + 0.5 if "number" in schema["type"] else default
    prefix = plugin.upper().replace("-", "_")
    monkeypatch.chdir(tmp_path)  # no .env of the checkout
    for variable in [v for v in os.environ if v.startswith(f"{prefix}_")]:
        monkeypatch.delenv(variable)
    for variable, text in {**REQUIRED_ENV[plugin], f"{prefix}_{name.upper()}": str(value)}.items():
        monkeypatch.setenv(variable, text)
    plugin_object = CLASSES[plugin](config=None, parse_env_config=True, validate_config=True)
    assert plugin_object.config[name] == value
    assert not isinstance(plugin_object.config[name], str)


def troubleshooting_row(start: str) -> str:
    """The README's troubleshooting row that starts with ``start``."""
    rows = (REPO_ROOT / "README.md").read_text().splitlines()
    found = [row for row in rows if row.startswith(f"| {start}")]
    assert len(found) == 1, start
    return found[0]


# Meltano's own refusals the README's row quotes, with what the plugin reads from the same text.
MELTANO_REFUSES = [
    ("TARGET_S3_ENDOR_BATCH_MAX_RECORDS", "", "invalid literal for int() with base 10: ''"),
    ("TARGET_S3_ENDOR_MAX_RETRY_SECONDS", "1.5", "invalid literal for int() with base 10: '1.5'"),
    ("TARGET_S3_ENDOR_FORMAT", "", "'' is not a valid choice for 'format'"),
]


def test_meltano_refuses_what_the_readme_row_says_and_the_plugin_reads_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Meltano reads ``kind: integer`` and ``options`` settings itself, and dies with its own
    traceback on an empty or fractional one; the README's row names that message and says what to
    do. Without Meltano (``--config=ENV``) the same variables mean "not set" or a number."""
    row = troubleshooting_row("Meltano itself stops with `ValueError:")
    root = tmp_path / "project"
    root.mkdir()
    (root / "meltano.yml").write_text((REPO_ROOT / "meltano.yml").read_text())
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("TAP_", "TARGET_"))},
        "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false",
        "TARGET_S3_ENDOR_BUCKET": "acme-exports",
    }
    monkeypatch.chdir(tmp_path)  # no .env of the checkout
    for variable in [v for v in os.environ if v.startswith("TARGET_S3_ENDOR_")]:
        monkeypatch.delenv(variable)
    monkeypatch.setenv("TARGET_S3_ENDOR_BUCKET", "acme-exports")
    for variable, text, says in MELTANO_REFUSES:
        printed = run_meltano(
            root, ["config", "--unsafe", "print", "target-s3-endor"], {**env, variable: text}
        )
        assert printed.returncode != 0, f"Meltano now takes {variable}={text!r}: drop the row"
        assert f"ValueError: {says}" in printed.stderr, printed.stderr[-2000:]
        patterns = [
            re.escape(quoted).replace(re.escape("..."), ".*")
            for quoted in re.findall(r"`ValueError: ([^`]+)`", row)
        ]
        assert any(re.fullmatch(pattern, says) for pattern in patterns), row
        name = variable.removeprefix("TARGET_S3_ENDOR_").lower()
        assert f"`{name}`" in row
        # The plugin itself: empty is "not set", a fraction for an integer is one named line.
        monkeypatch.setenv(variable, text)
        if text:
            with pytest.raises(ConfigValidationError, match=name):
                TargetS3Endor(config=None, parse_env_config=True)
        else:
            read = TargetS3Endor(config=None, parse_env_config=True).settings
            assert getattr(read, name) == about_json("target-s3-endor")["settings"]["properties"][
                name
            ].get("default")
        monkeypatch.delenv(variable)
