"""The same bad command line gives the tap and the target the same kind of answer.

Both plugins end on ``connector_common/cli.py``: one error line in the plugin's own
voice (``tap-endorlabs: error: ...`` on stderr, an ``| ERROR |`` log record from the
target), a non-zero exit, no traceback and no secret, whatever was wrong.  Each case
runs through each plugin's own click command (``cli.main``, in this process: a child
process would add only its start-up; the closed stdout and broken pipe, which need
one, are in bad_inputs.py, as are the cases only one plugin has).
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from connector_common.secret_values import scrubbed, secret_values
from connector_common.settings_hints import known_settings
from tap_endorlabs.settings import CONFIG_SCHEMA as TAP_SCHEMA
from tap_endorlabs.settings import ENDORCTL_ENV
from tap_endorlabs.tap import TapEndorLabs
from target_s3_endor.target import TargetS3Endor
from tests.support.in_process_cli import run_cli_in_process

SECRET = "s3cr3t-Wq8Zr2Lk5Tn"


@dataclass(frozen=True)
class Plugin:
    """One plugin: its command, a config it accepts and where its secret goes."""

    name: str
    plugin_class: type[TapEndorLabs] | type[TargetS3Endor]
    config: dict[str, Any]
    secret_setting: str
    env_prefix: str

    def is_error_line(self, line: str) -> bool:
        if self.name == "tap":
            return line.startswith("tap-endorlabs: error: ")
        return "| ERROR" in line and "target-s3-endor" in line


PLUGINS = [
    Plugin(
        "tap",
        TapEndorLabs,
        {"namespace": "acme", "api_key": "endr-key-1", "api_secret": "endr-secret-1"},
        "api_secret",
        "TAP_ENDORLABS",
    ),
    Plugin(
        "target",
        TargetS3Endor,
        {"bucket": "my-bucket", "aws_access_key_id": "AKIAEXAMPLE", "aws_secret_access_key": "x1y"},
        "aws_secret_access_key",
        "TARGET_S3_ENDOR",
    ),
]


@dataclass(frozen=True)
class Case:
    """A bad command line and what its one line must say."""

    name: str
    says: str
    config_text: str | None = None  # the --config file's text (None: the plugin's good config)
    secret: Any = None  # given as the plugin's secret setting (in the config file)
    env_secret: bool = False  # the secret given only in the plugin's environment variable
    args: tuple[str, ...] = ()  # after --config; "@config" is the config file
    exit_code: int = 1


CASES = [
    Case(
        "config holds a JSON array",
        "config.json holds a JSON array, not an object): pass a JSON file of settings",
        config_text='[["bucket", "b"], ["namespace", "acme"]]',  # the SDK took it as settings
    ),
    Case(
        "config holds a JSON number",
        "config.json holds a JSON number, not an object",
        config_text="5",  # the SDK's `dict |= 5`: a TypeError traceback
    ),
    Case(
        "config names an empty file",
        "--config was given an empty file name",
        args=("--config", ""),  # the SDK raised RuntimeError: a traceback
    ),
    Case("config names a directory", "Is a directory", args=("--config", "@dir")),
    Case(
        "secret setting of the wrong type",
        "Invalid configuration:",
        secret=[SECRET],  # the validator quotes the list, and the secret with it
    ),
    Case(
        "secret in a bad flag's value",
        "Invalid value for '--format'",
        secret=SECRET,
        args=("--about", "--format", SECRET),
        exit_code=2,
    ),
    Case(
        "secret from the environment in a bad flag's value",
        "Invalid value for '--format'",
        env_secret=True,
        args=("--about", "--format", SECRET),
        exit_code=2,
    ),
]


def run(
    plugin: Plugin, case: Case, workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> subprocess.CompletedProcess[str]:
    """The plugin's command line, in this process (tests/support/in_process_cli.py)."""
    config = dict(plugin.config)
    if case.secret is not None:
        config[plugin.secret_setting] = case.secret
    if case.env_secret:
        monkeypatch.setenv(f"{plugin.env_prefix}_{plugin.secret_setting.upper()}", SECRET)
    config_file = workdir / "config.json"
    config_file.write_text(json.dumps(config) if case.config_text is None else case.config_text)
    (workdir / "dir").mkdir()
    places = {"@config": str(config_file), "@dir": str(workdir / "dir")}
    args = ["--config", str(config_file), *(places.get(arg, arg) for arg in case.args)]
    done = run_cli_in_process(plugin.plugin_class, args)
    return subprocess.CompletedProcess(
        args, done.returncode, done.stdout.decode(), done.stderr.decode()
    )


def the_one_error_line(plugin: Plugin, done: subprocess.CompletedProcess[bytes]) -> str:
    """The run's one error line, after checking it failed (exit 1) without a traceback."""
    stderr = done.stderr.decode()
    assert "Traceback" not in stderr
    assert done.returncode == 1
    errors = [line for line in stderr.splitlines() if plugin.is_error_line(line)]
    assert len(errors) == 1, stderr[-2000:]
    return errors[0]


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
@pytest.mark.parametrize("plugin", PLUGINS, ids=[plugin.name for plugin in PLUGINS])
def test_one_line_no_traceback_no_secret(
    plugin: Plugin, case: Case, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    done = run(plugin, case, tmp_path, monkeypatch)
    lines = [line for line in done.stderr.splitlines() if line.strip()]

    assert done.returncode == case.exit_code, done.stderr[-2000:]
    assert "Traceback" not in done.stderr
    assert SECRET not in done.stderr
    errors = [line for line in lines if plugin.is_error_line(line)]
    assert len(errors) == 1, done.stderr[-2000:]
    assert errors[0] == lines[-1], "the error line must be the last word"
    assert case.says in errors[0]
    assert not done.stdout.strip()


def test_secret_values_cover_fallback_variables_and_values_inside_lists(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The tap's endorctl variables are scrubbed too; a list's texts one by one."""
    monkeypatch.setenv("ENDOR_API_CREDENTIALS_SECRET", "endorctl-secret")
    monkeypatch.setenv("TAP_ENDORLABS_TOKEN", "tap-token-1")
    found = secret_values(
        {"api_key": ["key-in-a-list"], "namespace": "acme"},
        TAP_SCHEMA,
        "TAP_ENDORLABS",
        ENDORCTL_ENV,
    )
    assert {"endorctl-secret", "tap-token-1", "key-in-a-list", "['key-in-a-list']"} <= set(found)
    assert "acme" not in found


def test_a_secret_inside_another_is_scrubbed_whole() -> None:
    assert scrubbed("token=abcdef", ["abc", "abcdef"]) == "token=***"


@pytest.mark.filterwarnings("ignore:Passing a config file path is deprecated")
@pytest.mark.parametrize("plugin", PLUGINS, ids=[plugin.name for plugin in PLUGINS])
def test_a_config_given_as_a_file_path_is_not_read_as_setting_names(
    plugin: Plugin, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """singer-sdk takes a path too: the tap warned "Unknown setting 't'" per character."""
    path = tmp_path / "config.json"
    path.write_text(json.dumps(plugin.config))
    plugin.plugin_class(config=str(path))
    assert "Unknown setting" not in caplog.text


@pytest.mark.parametrize(
    ("plugin", "setting"),
    [(PLUGINS[0], "page_size"), (PLUGINS[1], "batch_max_records")],
    ids=[plugin.name for plugin in PLUGINS],
)
def test_a_config_from_a_pipe_is_read_once(plugin: Plugin, setting: str) -> None:
    """``--config <(vault read ...)``: a pipe gives its text once, so it is read once.

    Read twice (a shape check, then the SDK's own read), the second read was empty and
    ended in a JSON traceback. The setting's wrong kind shows that the pipe's settings
    are the ones judged.
    """
    read_end, write_end = os.pipe()
    os.write(write_end, json.dumps({**plugin.config, setting: "many"}).encode())
    os.close(write_end)
    try:
        done = run_cli_in_process(plugin.plugin_class, ["--config", f"/dev/fd/{read_end}"])
    finally:
        os.close(read_end)
    assert setting in the_one_error_line(plugin, done)


def _env_settings(plugin: Plugin, monkeypatch: pytest.MonkeyPatch) -> None:
    """The plugin's good settings, as --config=ENV variables."""
    for name, value in plugin.config.items():
        monkeypatch.setenv(f"{plugin.env_prefix}_{name.upper()}", value)


ENV_TYPOS = [
    ("ssl_verify", "ture"),  # was read as false: TLS verification off without a word
    ("ssl_verify", "enabled"),
    ("page_size", "abc"),  # the tap's integer (the target's below): int() traceback
    ("page_size", "5.5"),
    ("compression_level", "abc"),
    ("compression_level", "5.5"),
    ("batch_max_records", "many"),
    ("run_manifest", "nope"),  # the target's yes/no: exit 0, no manifest
    ("stream_maps", "{bad"),  # an object: a JSONDecodeError traceback
    ("stream_maps", "[1]"),
]


def _each_plugin_with(cases: list[tuple[Any, ...]]) -> Any:
    """``cases`` (setting first) crossed with the plugins that have that setting."""
    return [
        pytest.param(plugin, *case, id=f"{plugin.name}-{case[0]}={case[1]!r}")
        for plugin in PLUGINS
        for case in cases
        if case[0] in known_settings(plugin.plugin_class)  # the SDK's own (stream_maps) too
    ]


@pytest.mark.parametrize(("plugin", "setting", "text"), _each_plugin_with(ENV_TYPOS))
def test_a_typo_in_a_yes_no_number_or_json_variable_is_one_line(
    plugin: Plugin, setting: str, text: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``--config=ENV``: singer-sdk read a yes/no typo as false, an integer typo as a traceback."""
    _env_settings(plugin, monkeypatch)
    variable = f"{plugin.env_prefix}_{setting.upper()}"
    monkeypatch.setenv(variable, text)
    done = run_cli_in_process(plugin.plugin_class, ["--config", "ENV"])
    line = the_one_error_line(plugin, done)
    assert setting in line
    assert f"{variable}={text!r}" in line


ENV_MEANINGS = [
    ("ssl_verify", "TRUE", True),
    ("ssl_verify", " yes", True),
    ("ssl_verify", "0", False),
    ("ssl_verify", "Off", False),
    ("ssl_verify", "", None),  # empty: not set, the default (was false)
    ("page_size", "", None),  # empty: not set (was an int('') traceback)
    ("page_size", "50.0", 50),  # as from a config file
    ("page_size", "1e2", 100),
    ("batch_max_records", "1e4", 10_000),
    ("compression_level", " 5 ", 5),
    ("compression_level", "", None),
    ("stream_maps", "", None),  # was a JSONDecodeError traceback
    (
        "stream_maps",
        '{"audit_logs": {"__alias__": "events"}}',
        {"audit_logs": {"__alias__": "events"}},
    ),
]


@pytest.mark.parametrize(("plugin", "setting", "text", "read"), _each_plugin_with(ENV_MEANINGS))
def test_yes_no_number_and_json_variables_mean_what_a_file_means(
    plugin: Plugin, setting: str, text: str, read: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Number text is the number it spells, empty text is "not set", yes/no words are read."""
    _env_settings(plugin, monkeypatch)
    monkeypatch.setenv(f"{plugin.env_prefix}_{setting.upper()}", text)
    config = plugin.plugin_class(config={}, parse_env_config=True).config
    if read is None:
        default = plugin.plugin_class.config_jsonschema["properties"][setting].get("default")
        assert config.get(setting) == default
    else:
        assert config[setting] == read


WHOLE_NUMBERS = [(PLUGINS[0], "page_size"), (PLUGINS[1], "compression_level")]


@pytest.mark.parametrize(
    ("plugin", "setting"), WHOLE_NUMBERS, ids=[plugin.name for plugin, _ in WHOLE_NUMBERS]
)
def test_a_whole_number_written_5_0_in_a_file_is_that_integer(plugin: Plugin, setting: str) -> None:
    """``5.0`` in a config file is 5, as the text "5.0" is (it was "Decimal('5.0') is not ...")."""
    # A config file as singer-sdk (and connector_common.cli) reads it: non-integers as Decimal.
    config = plugin.plugin_class(config={**plugin.config, setting: Decimal("5.0")}).config
    assert config[setting] == 5
    assert type(config[setting]) is int


@pytest.mark.parametrize(
    ("plugin", "setting"), WHOLE_NUMBERS, ids=[plugin.name for plugin, _ in WHOLE_NUMBERS]
)
def test_a_fraction_for_an_integer_setting_is_quoted_as_written(
    plugin: Plugin, setting: str, tmp_path: Path
) -> None:
    """The line quotes 5.5, not a Python repr (``Decimal('5.5')``)."""
    path = tmp_path / "config.json"
    path.write_text(json.dumps(plugin.config)[:-1] + f', "{setting}": 5.5}}')
    done = run_cli_in_process(plugin.plugin_class, ["--config", str(path)])
    line = the_one_error_line(plugin, done)
    assert "5.5 is not of type 'integer'" in line
    assert "Decimal" not in line
    assert setting in line


def test_a_number_below_its_minimum_is_quoted_as_written(tmp_path: Path) -> None:
    """The tap's schema minimums quoted singer-sdk's Decimal: "Decimal('-0.5') is less than ..."."""
    plugin = PLUGINS[0]
    path = tmp_path / "config.json"
    path.write_text(json.dumps(plugin.config)[:-1] + ', "window_hours": -0.5}')
    done = run_cli_in_process(plugin.plugin_class, ["--config", str(path)])
    line = the_one_error_line(plugin, done)
    assert "-0.5 is less than or equal to the minimum of 0" in line
    assert "Decimal" not in line
