"""The LAYOUTS registry: every layout's entries resolve, and the target looks them up (issue 20).

In-process and without S3: a registry entry that names a missing sink, or a
``layout`` setting that offers a value the registry lacks, fails here rather
than in the first run of that layout.
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime
from typing import Any

import pytest
from singer_sdk.sinks import Sink

from target_s3_endor.errors import SettingsError
from target_s3_endor.layouts import endor
from target_s3_endor.layouts.proof import RECONCILIATION_STREAM
from target_s3_endor.layouts.registry import DEFAULT_LAYOUT, LAYOUTS, layout_of
from target_s3_endor.probe import probe_keys
from target_s3_endor.settings.model import TargetSettings
from target_s3_endor.target import TargetS3Endor
from target_s3_endor.verify.proofs import proof_roots
from tests.support.servers import REPO_ROOT

# A configuration each layout accepts (no S3 is reached by anything below).
CONFIGS: dict[str, dict[str, Any]] = {
    "endor": {"bucket": "export-bucket", "prefix": "exports"},
    "security-lake": {
        "bucket": "export-bucket",
        "layout": "security-lake",
        "security_lake_account_id": "123456789012",
        "region": "us-east-1",
    },
}
EXPORTER_ROOT = "exports/x-exporter"


def test_every_layout_has_a_test_configuration() -> None:
    assert set(CONFIGS) == set(LAYOUTS)


def test_the_layout_settings_allowed_values_are_the_registrys_names() -> None:
    prop = TargetS3Endor.config_jsonschema["properties"]["layout"]
    assert prop["enum"] == list(LAYOUTS)
    assert prop["default"] == DEFAULT_LAYOUT
    assert all(name == layout.name for name, layout in LAYOUTS.items())


@pytest.mark.parametrize("name", list(LAYOUTS))
def test_each_layouts_entries_resolve(name: str) -> None:
    layout = LAYOUTS[name]
    config = CONFIGS[name]
    assert layout_of(config) is layout
    assert issubclass(layout.sink_class(), Sink)
    layout.check(config)  # a configuration the layout accepts passes its rule
    roots = layout.roots(TargetSettings.from_config(config))
    assert roots and all(isinstance(root, str) and root for root in roots)
    for stream in ("audit_logs", "findings", "some_other_stream"):
        assert layout.proof_root(TargetSettings.from_config(config), EXPORTER_ROOT, stream) in [
            *roots,
            EXPORTER_ROOT,
        ]
    key = f"{roots[0]}/a/b/object.zip"
    assert layout.manifest_folder(EXPORTER_ROOT, key).endswith("/_manifests")
    empty = layout.empty_run_manifest_folder(EXPORTER_ROOT)
    assert empty is None or empty.endswith("/_manifests")


@pytest.mark.parametrize("name", list(LAYOUTS))
def test_the_target_probe_and_verify_use_the_registered_layout(name: str) -> None:
    config = CONFIGS[name]
    layout = LAYOUTS[name]
    target = TargetS3Endor(config=config, validate_config=True)
    assert target.layout is layout
    assert target.get_sink_class("audit_logs") is layout.sink_class()
    assert target.get_sink_class(RECONCILIATION_STREAM) is not layout.sink_class()
    assert proof_roots(target.settings) == layout.roots(target.settings)
    probes = probe_keys(target.settings, datetime(2025, 1, 1, tzinfo=UTC))
    assert [key.rsplit("/", 2)[0] for key in probes] == layout.roots(target.settings)


def test_where_each_layout_puts_its_own_objects() -> None:
    lake = LAYOUTS["security-lake"]
    key = "ext/endorlabs-audit-logs/region=us-east-1/accountId=1/eventDay=20250101/x.parquet"
    assert lake.manifest_folder(EXPORTER_ROOT, key) == "ext/endorlabs-audit-logs/_manifests"
    assert lake.empty_run_manifest_folder(EXPORTER_ROOT) is None
    assert "ext/endorlabs-audit-logs" in lake.roots(
        TargetSettings.from_config(CONFIGS["security-lake"])
    )
    assert endor.LAYOUT.manifest_folder(EXPORTER_ROOT, "anything") == (
        f"{EXPORTER_ROOT}/_manifests"
    )
    assert endor.LAYOUT.empty_run_manifest_folder(EXPORTER_ROOT) == f"{EXPORTER_ROOT}/_manifests"
    settings = TargetSettings.from_config(CONFIGS["endor"])
    assert endor.LAYOUT.roots(settings) == [endor.exporter_root(settings)]


@pytest.mark.parametrize("value", ["Endor", "s3", None, ["endor"]])
def test_an_unknown_layout_is_one_line_naming_the_setting(value: object) -> None:
    with pytest.raises(SettingsError, match=r"^layout must be one of endor, security-lake$"):
        layout_of({"layout": value})


def test_a_run_of_the_endor_layout_never_imports_pyarrow() -> None:
    """The registry names the Parquet sink, so loading it (and the endor sink) leaves pyarrow out.

    A child process: this one has pyarrow loaded by other tests already.
    """
    program = (
        "import json, sys; from target_s3_endor.target import TargetS3Endor; "
        f"target = TargetS3Endor(config=json.loads({json.dumps(json.dumps(CONFIGS['endor']))})); "
        "target.get_sink_class('audit_logs'); "
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'pyarrow' "
        "or m.endswith('parquet_sink')))"
    )
    done = subprocess.run(
        [sys.executable, "-c", program],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "[]"
