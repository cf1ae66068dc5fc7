"""api_url as a user gets it wrong: left blank, or with a path the API does not have.

A blank ``api_url`` (``{"api_url": ""}``, or ``TAP_ENDORLABS_API_URL=`` with
``--config=ENV``) passed the settings check as the default but reached the
requests as "" (``MissingSchema: Invalid URL '/v1/...'``, a traceback).  Blank
now means "not set" for every setting, in one place: endorctl's variable or the
default applies.
"""

from __future__ import annotations

from typing import Any

import pytest

from tap_endorlabs.settings import CONFIG_SCHEMA, DEFAULT_API_URL
from tap_endorlabs.tap import TapEndorLabs
from tests.conftest import EMULATOR_KEY, EMULATOR_NAMESPACE, EMULATOR_SECRET
from tests.support.in_process_cli import run_cli_in_process
from tests.test_tap.tap_runner import run_tap_in_process, tap_config

DEFAULTS = {
    name: spec["default"] for name, spec in CONFIG_SCHEMA["properties"].items() if "default" in spec
}


@pytest.mark.parametrize("name", sorted(DEFAULTS))
def test_a_blank_setting_is_its_default_for_every_reader(name: str) -> None:
    """Every setting with a default: blank in the config is the default, whoever reads it."""
    tap = TapEndorLabs(config={"namespace": "acme", "token": "a.b", name: ""})
    assert tap.config[name] == DEFAULTS[name]
    assert tap.api.url_base == DEFAULT_API_URL
    assert tap.authenticator._api_url == DEFAULT_API_URL


def test_a_blank_api_url_in_the_config_file_falls_back_to_endor_api(emulator: Any) -> None:
    """Blank is "not set": endorctl's ENDOR_API applies, and the run reads the API there."""
    run = run_tap_in_process(
        tap_config("", retry_budget_seconds=5), env={"ENDOR_API": emulator.url}
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert "Traceback" not in run.stderr
    assert run.records["audit_logs"]


def test_an_empty_api_url_variable_with_config_env_falls_back_too(
    emulator: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``TAP_ENDORLABS_API_URL=`` (an empty variable) with ``--config=ENV``: the same."""
    for name, value in {
        "TAP_ENDORLABS_API_URL": "",
        "TAP_ENDORLABS_NAMESPACE": EMULATOR_NAMESPACE,
        "TAP_ENDORLABS_API_KEY": EMULATOR_KEY,
        "TAP_ENDORLABS_API_SECRET": EMULATOR_SECRET,
        "TAP_ENDORLABS_START_DATE": "2026-12-01T00:00:00Z",
        "ENDOR_API": emulator.url,
    }.items():
        monkeypatch.setenv(name, value)
    run = run_cli_in_process(TapEndorLabs, ["--config=ENV"])
    stderr = run.stderr.decode()
    assert run.returncode == 0, stderr[-2000:]
    assert "Traceback" not in stderr
    assert b'"type":"RECORD"' in run.stdout.replace(b" ", b"")


@pytest.mark.parametrize(
    ("credentials", "request_text"),
    [
        pytest.param({}, "the token exchange (POST {url}/v1/v1/auth/api-key)", id="exchange"),
        pytest.param(
            {"api_key": None, "api_secret": None, "token": "a.b"},
            "audit_logs in namespace 'acme' (GET {url}/v1/v1/namespaces/acme/audit-logs)",
            id="preflight",
        ),
    ],
)
def test_an_api_url_with_a_path_the_api_lacks_stops_at_the_first_404(
    emulator: Any, credentials: dict, request_text: str
) -> None:
    """``.../v1`` answers 404 to a request the API always has: one line at once, no retries.

    The token exchange retried its 404 for the whole retry budget (300 s by default).
    """
    config = tap_config(f"{emulator.url}/v1", retry_budget_seconds=20, **credentials)
    run = run_tap_in_process(config)
    assert run.returncode == 1
    assert "Traceback" not in run.stderr
    assert "Retrying" not in run.stderr
    last = run.stderr.strip().splitlines()[-1]
    assert last.startswith(
        f"tap-endorlabs: error: api_url '{emulator.url}/v1' answered HTTP 404 for "
        + request_text.format(url=emulator.url)
        + ": check api_url (Endor Labs' API is https://api.endorlabs.com, no path)"
    ), run.stderr[-2000:]
    assert not run.records
