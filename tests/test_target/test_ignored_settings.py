"""A setting the layout never reads gets one warning line when given, not silence.

``format: sarif`` under ``layout: security-lake`` changes nothing (Security Lake
objects are OCSF Parquet); neither do ``security_lake_account_id`` under the
Endor layout.  The target says so, once per setting, only for a value the user
chose (Meltano passes ``meltano.yml``'s defaults to every run: those stay quiet).
In-process, no S3: an empty input writes nothing.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from target_s3_endor.layouts.registry import LAYOUTS
from target_s3_endor.settings.checks import ignored_setting_lines
from target_s3_endor.settings.schema import SETTING_NAMES, schema_default
from target_s3_endor.target import TargetS3Endor
from tests.support.in_process_cli import run_cli_in_process
from tests.support.servers import REPO_ROOT
from tests.test_reliability.test_bad_inputs import says_matches

ENDOR = {"bucket": "export-bucket", "region": "us-east-1", "endpoint_url": "http://127.0.0.1:9"}
LAKE = {**ENDOR, "layout": "security-lake", "security_lake_account_id": "123456789012"}
# A value other than the default, for each setting a layout ignores.
CHOSEN: dict[str, Any] = {
    "format": "sarif",
    "compression": "gzip",
    "compression_level": 9,
    "prefix": "exports",
    "exporter_name": "prod-exporter",
    "exporter_uuid": "0b6f2b6e-2f1a-4f57-9d7e-1f1f1f1f1f1f",
    "security_lake_account_id": "123456789012",
    "security_lake_source_names": {"audit_logs": "my-audit-logs"},
}
BASE = {"endor": ENDOR, "security-lake": LAKE}


def test_each_ignored_setting_is_a_setting_with_a_chosen_value_here() -> None:
    for layout in LAYOUTS.values():
        assert set(layout.ignored_settings) <= set(SETTING_NAMES) & set(CHOSEN)
    lake = LAYOUTS["security-lake"].ignored_settings
    assert {"format", "compression", "prefix"} <= set(lake)


@pytest.mark.parametrize(
    ("layout", "name"),
    [(layout.name, name) for layout in LAYOUTS.values() for name in layout.ignored_settings],
)
def test_a_chosen_value_gets_one_line_naming_the_setting_and_the_layout(
    layout: str, name: str
) -> None:
    config = {**BASE[layout], name: CHOSEN[name]}
    assert ignored_setting_lines(config) == [
        f"{name} is ignored under layout: {layout} ({LAYOUTS[layout].ignored_because}); "
        "remove it from the settings"
    ]


@pytest.mark.parametrize("name", LAYOUTS["security-lake"].ignored_settings)
def test_the_default_or_its_text_is_not_warned_about(name: str) -> None:
    default = schema_default(name)
    given = [default, str(default)] if isinstance(default, int) else [default]
    for value in [*given, None]:
        assert ignored_setting_lines({**LAKE, name: value}) == []


def test_settings_a_layout_reads_are_never_warned_about() -> None:
    endor_settings = {k: v for k, v in CHOSEN.items() if not k.startswith("security_lake")}
    assert ignored_setting_lines({**ENDOR, **endor_settings}) == []
    lake_settings = {"security_lake_source_names": CHOSEN["security_lake_source_names"]}
    assert ignored_setting_lines({**LAKE, **lake_settings}) == []
    assert ignored_setting_lines({**ENDOR, "security_lake_source_names": {}}) == []


def test_a_run_logs_one_warning_line_per_setting_given(tmp_path: Path) -> None:
    config_file = tmp_path / "config.json"
    config = {**LAKE, "format": "sarif", "compression": "gzip", "prefix": "endor"}
    config_file.write_text(json.dumps(config))
    run = run_cli_in_process(TargetS3Endor, ["--config", str(config_file)], b"")
    assert run.returncode == 0, run.stderr[-2000:]
    warnings = [
        line for line in run.stderr.decode().splitlines() if " is ignored under layout:" in line
    ]
    assert len(warnings) == 2, warnings  # prefix: endor is the default: no line
    assert all("| WARNING" in line for line in warnings)
    assert [re.search(r"\| (\w+) is ignored", line)[1] for line in warnings] == [  # type: ignore[index]
        "format",
        "compression",
    ]


def test_the_readme_names_the_warning_as_the_code_prints_it() -> None:
    readme = (REPO_ROOT / "README.md").read_text()
    section = readme.split("## Troubleshooting", 1)[1].split("\n## ", 1)[0]
    row = next(line for line in section.splitlines() if "is ignored under layout" in line)
    first_column = row.split(" | ")[0]
    messages = re.findall(r"`([^`]+)`", first_column)
    printed = [
        *ignored_setting_lines({**LAKE, "format": "sarif"}),
        *ignored_setting_lines({**ENDOR, "security_lake_account_id": "123456789012"}),
    ]
    assert len(messages) == len(printed) == 2
    assert all(says_matches(says, line) for says, line in zip(messages, printed, strict=True))
