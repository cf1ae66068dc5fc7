"""What an operator gets wrong first: misspelled settings, bare dates, state files, --test."""

from __future__ import annotations

import io
import json
import os
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest

from connector_common.settings_hints import misspelled, unset_hints, what_to_do
from tap_endorlabs.filters import bare_date, time_range
from tap_endorlabs.run_inputs import read_state
from tap_endorlabs.settings import CONFIG_SCHEMA
from tests.support.servers import ServerProcess
from tests.test_pipeline.conftest import tap_config
from tests.test_tap.tap_runner import TAP

KNOWN = list(CONFIG_SCHEMA["properties"])


def test_misspellings_get_the_nearest_setting_and_only_unknown_names_are_flagged() -> None:
    hints = misspelled(["start_time", "namespace", "api_secert", "zzzqqq"], KNOWN)
    assert hints == {"start_time": "start_date", "api_secert": "api_secret", "zzzqqq": None}


def test_a_missing_setting_error_names_the_misspelling_behind_it_only() -> None:
    hints = {"api_secert": "api_secret", "start_time": "start_date"}
    config = {"api_secert": "x", "start_time": "2025-01-01"}
    text = unset_hints(hints, config, "Missing credentials: set api_key and api_secret")
    assert "'api_secert' is set instead of 'api_secret'" in text
    assert "start_time" not in text


def test_a_missing_required_setting_says_where_to_set_it() -> None:
    errors = ["'bucket' is a required property", "'x' is not of type 'integer' in config['y']"]
    told = what_to_do(errors, "TARGET_S3_ENDOR")
    assert told[0] == (
        "'bucket' is a required property: set bucket in the config file, or "
        "TARGET_S3_ENDOR_BUCKET with --config=ENV or Meltano"
    )
    assert told[1] == errors[1]


def test_the_tap_without_namespace_says_where_to_set_it(tmp_path: Path) -> None:
    config = tmp_path / "tap.json"
    config.write_text(json.dumps({"api_key": "k", "api_secret": "s"}))
    env = {key: value for key, value in os.environ.items() if not key.startswith("ENDOR_")}
    run = subprocess.run(
        [TAP, "--config", str(config)], capture_output=True, text=True, env=env, check=False
    )
    assert run.returncode == 1
    assert run.stderr.splitlines()[-1].endswith(
        "'namespace' is a required property: set namespace in the config file, or "
        "TAP_ENDORLABS_NAMESPACE with --config=ENV or Meltano"
    )
    assert "Traceback" not in run.stderr


@pytest.mark.parametrize("op", [">=", ">", "<", "<=", "==", "!="])
@pytest.mark.parametrize(
    "moment", [datetime(1970, 1, 1, tzinfo=UTC), datetime(2025, 12, 31, 23, 59, 59, 999, UTC)]
)
def test_dates_the_tap_writes_are_never_bare_and_bare_ones_are_found(
    moment: datetime, op: str
) -> None:
    generated = time_range("meta.create_time", moment, None)
    assert generated is not None and bare_date(generated) is None
    day = moment.strftime("%Y-%m-%d")
    found = bare_date(f"meta.create_time {op} {day}")
    assert found == (day, f"date({day}T00:00:00Z)")


def test_a_whole_state_message_is_taken_for_its_value() -> None:
    value = {"bookmarks": {"audit_logs": {"replication_key_value": "2025-01-01T00:00:00Z"}}}
    message = io.StringIO(json.dumps({"type": "STATE", "value": value}))
    assert read_state(message) == value
    assert read_state(io.StringIO(json.dumps(value))) == value


def test_a_passing_test_logs_no_error_and_says_it_passed(
    tmp_path: Path, emulator: ServerProcess
) -> None:
    config = tmp_path / "tap.json"
    config.write_text(json.dumps(tap_config(emulator)))
    result = subprocess.run(
        [TAP, "--config", str(config), "--test"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "ERROR" not in result.stderr
    assert "Connection test passed" in result.stderr
