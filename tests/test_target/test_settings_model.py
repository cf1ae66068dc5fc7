"""``TargetSettings``: one typed object, the schema's defaults, values as singer-sdk means them.

The oracle is singer-sdk itself: a real ``TargetS3Endor`` validates the config
(filling in the schema's defaults, numbers given as text read by
``connector_common.settings_text``), and the model built from the raw config
must hold what that validated config says.  So a default restated anywhere,
or a conversion done differently, shows here.
"""

from __future__ import annotations

import re
from dataclasses import fields
from decimal import Decimal
from types import MappingProxyType
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from target_s3_endor.errors import SettingsError
from target_s3_endor.layouts.endor import exporter_root
from target_s3_endor.settings.model import EMPTY_TEXT_IS_A_VALUE, TargetSettings
from target_s3_endor.settings.schema import SETTING_NAMES, SETTINGS_SCHEMA
from target_s3_endor.target import TargetS3Endor
from tests.support.servers import REPO_ROOT

PROPERTIES: dict[str, Any] = SETTINGS_SCHEMA["properties"]
MINIMAL = {"bucket": "export-bucket"}


def types_of(name: str) -> set[str]:
    declared = PROPERTIES[name]["type"]
    return {declared} if isinstance(declared, str) else set(declared)


def meaning(name: str, validated: Any) -> Any:
    """What a setting means once singer-sdk validated it: empty text is "not set"."""
    if validated == "" and name not in EMPTY_TEXT_IS_A_VALUE:
        return PROPERTIES[name].get("default")
    if validated is None and "object" in types_of(name):
        return {}
    return validated


# Settings whose values stand alone (no partner setting, no file or layout rule), with one
# value each that passes every check and differs from the default.
ALONE: dict[str, Any] = {
    "region": "eu-west-3",
    "prefix": "exports/endor",
    "exporter_name": "nightly",
    "exporter_uuid": "8d1c7f6e-1111-4222-8333-944445555666",
    "format": "jsonl",
    "compression": "gzip",
    "compression_level": 6,
    "batch_max_records": 250,
    "batch_max_bytes": 32 << 20,
    "max_concurrent_uploads": 3,
    "batch_max_age_seconds": 42.5,
    "aws_profile": "reader",
    "role_duration_seconds": 7200,
    "server_side_encryption": "AES256",
    "multipart_threshold_bytes": 8 << 20,
    "multipart_part_size_bytes": 8 << 20,
    "max_attempts": 2,
    "max_retry_seconds": 0,
    "request_checksum_calculation": "when_required",
    "response_checksum_validation": "when_required",
    "connect_timeout_seconds": 2.5,
    "read_timeout_seconds": 30,
    "ssl_verify": False,
    "run_manifest": True,
    "max_line_bytes": 1 << 20,
}


@st.composite
def configs(draw: st.DrawFn) -> dict[str, Any]:
    """A config where each setting is absent, null, given, or given as text (numbers) or ""."""
    config: dict[str, Any] = dict(MINIMAL)
    for name, value in ALONE.items():
        ways = ["absent", "null", "given"]
        if types_of(name) & {"integer", "number"}:
            ways.append("text")
        if "number" in types_of(name):
            ways.append("decimal")  # a config file's non-integers, as singer-sdk reads them
        elif "string" in types_of(name) and "enum" not in PROPERTIES[name]:
            ways.append("empty")
        way = draw(st.sampled_from(ways))
        if way == "null":
            config[name] = None
        elif way == "given":
            config[name] = value
        elif way == "text":
            config[name] = draw(st.sampled_from([str(value), f" {value} ", f"{float(value)}"]))
        elif way == "decimal":
            config[name] = Decimal(str(value))
        elif way == "empty":
            config[name] = ""
    return config


def test_the_model_and_the_schema_name_the_same_settings() -> None:
    assert tuple(field.name for field in fields(TargetSettings)) == SETTING_NAMES
    assert set(SETTING_NAMES) <= set(PROPERTIES)


def test_every_schema_default_is_the_one_the_model_uses() -> None:
    """Defaults are written once: what singer-sdk fills in from the schema is what the model holds.

    Also against the schema directly, for the settings singer-sdk leaves absent.
    """
    model = TargetSettings.from_config(MINIMAL)
    validated = dict(TargetS3Endor(config=dict(MINIMAL)).config)
    for name in SETTING_NAMES:
        assert getattr(model, name) == meaning(name, validated.get(name)), name
        if name not in MINIMAL:
            assert getattr(model, name) == meaning(name, PROPERTIES[name].get("default")), name
    assert TargetS3Endor(config=dict(MINIMAL)).settings == model


@settings(max_examples=60, deadline=None)
@given(config=configs())
def test_the_model_holds_what_singer_sdk_validated(config: dict[str, Any]) -> None:
    """Invariant: for any mix of absent, null, given, text and empty settings, the model built from
    the raw config holds what singer-sdk's validated config means, typed (numbers as numbers)."""
    target = TargetS3Endor(config=dict(config))
    validated = dict(target.config)
    model = TargetSettings.from_config(config)
    assert model == target.settings
    for name in SETTING_NAMES:
        value = getattr(model, name)
        assert value == meaning(name, validated.get(name)), name
        if "integer" in types_of(name) and value is not None:
            assert type(value) is int, name
        if "number" in types_of(name) and value is not None:
            assert type(value) is float, name


@pytest.mark.parametrize(
    ("setting", "value", "expected"),
    [
        ("batch_max_bytes", "1048576", 1 << 20),
        ("batch_max_bytes", "1e6", 1_000_000),
        ("batch_max_age_seconds", "0", 0.0),
        ("batch_max_age_seconds", "12.5", 12.5),
        ("batch_max_age_seconds", Decimal("0.5"), 0.5),  # from a config file
        ("read_timeout_seconds", Decimal("30"), 30.0),
        ("max_retry_seconds", 0, 0),  # a number 0 is a value, not "unset"
        ("prefix", "", ""),  # keys without a prefix
        ("exporter_name", "", "s3-exporter"),
        ("region", "", None),
        ("spool_dir", None, None),
        ("security_lake_source_names", None, {}),
        ("ssl_verify", None, True),
    ],
)
def test_a_setting_reads_as_the_sdk_means_it(setting: str, value: Any, expected: Any) -> None:
    got = getattr(TargetSettings.from_config({**MINIMAL, setting: value}), setting)
    assert got == expected
    assert type(got) is (MappingProxyType if isinstance(expected, dict) else type(expected))


@pytest.mark.parametrize(
    ("setting", "value", "line"),
    [
        ("batch_max_bytes", "ten", "batch_max_bytes must be a whole number"),
        ("batch_max_bytes", 1.5, "batch_max_bytes must be a whole number"),
        ("batch_max_age_seconds", "soon", "batch_max_age_seconds must be a number"),
        ("max_attempts", True, "max_attempts must be a whole number"),
        ("security_lake_source_names", ["x"], "security_lake_source_names must be an object"),
        ("ssl_verify", "false", "ssl_verify must be true or false"),
        ("run_manifest", 1, "run_manifest must be true or false"),
    ],
)
def test_a_value_of_the_wrong_kind_is_one_line_naming_the_setting(
    setting: str, value: Any, line: str
) -> None:
    with pytest.raises(SettingsError, match=line):
        TargetSettings.from_config({**MINIMAL, setting: value})


def test_secrets_stay_out_of_the_models_repr() -> None:
    secret = {name for name, spec in PROPERTIES.items() if spec.get("secret")}
    assert secret
    model = TargetSettings.from_config(
        {**MINIMAL, **{name: f"SECRET-{name}" for name in secret}, "role_arn": "arn:r"}
    )
    assert "SECRET" not in repr(model)
    assert all(getattr(model, name) == f"SECRET-{name}" for name in secret)


def test_the_model_is_frozen() -> None:
    model = TargetSettings.from_config(MINIMAL)
    with pytest.raises(AttributeError):
        model.bucket = "other"  # type: ignore[misc]


# Where the raw configuration may still be read: the rules that judge it before the model
# exists (and a layout's own rule), singer-sdk's null-dropping hook, the model itself, and the
# target's wiring (which builds the model, and an error path where no target was built).
READS_THE_RAW_CONFIG = {
    "input/handlers.py",
    "layouts/registry.py",
    "layouts/security_lake.py",
    "settings/checks.py",
    "settings/limits.py",
    "settings/model.py",
    "storage/endpoints.py",
    "target.py",
}
RAW_READ = re.compile(r"\bconfig\.get\(|\bconfig\[|self\.config\b|_config\[")


def test_only_the_rules_read_the_raw_configuration() -> None:
    """Every other module reads TargetSettings, so no default or conversion is restated."""
    package = REPO_ROOT / "target_s3_endor"
    readers = {
        path.relative_to(package).as_posix()
        for path in package.rglob("*.py")
        if RAW_READ.search(path.read_text(encoding="utf-8"))
    }
    assert readers == READS_THE_RAW_CONFIG


TEXT_SETTINGS = [
    name
    for name in SETTING_NAMES
    if types_of(name) == {"string", "null"} or types_of(name) == {"string"}
]


@settings(max_examples=200, deadline=None)
@given(
    name=st.sampled_from(TEXT_SETTINGS),
    text=st.one_of(
        st.sampled_from(["", " ", "  ", "\t", "\n", " x ", "bkt2\n"]),
        st.text(alphabet=st.sampled_from(" \t\nab-/é"), max_size=6),
    ),
)
def test_a_text_setting_means_what_every_reader_read_before_the_model(name: str, text: str) -> None:
    """Invariant: a text setting is its text; only "" is "not set" (its default, or None).

    Before the typed settings every reader did ``config.get(name) or default``
    (``git show 4053698:target_s3_endor/``): text of spaces was a value. The model
    read it as "not set", and ``{"exporter_uuid": "  "}`` moved every key root.
    """
    got = getattr(TargetSettings.from_config({**MINIMAL, name: text}), name)
    if text == "" and name not in EMPTY_TEXT_IS_A_VALUE:
        assert got == PROPERTIES[name].get("default"), name
    else:
        assert got == text, name


@pytest.mark.parametrize(
    ("setting", "value", "root"),
    [
        ("exporter_uuid", "  ", "endor/s3-exporter--efc20f1fe9"),
        ("exporter_name", " ", "endor/0791c6a2-06b4-576f-add3-d995a8472837--ea6a23d105"),
        (
            "exporter_uuid",
            "",
            "endor/ffcb0d85-9255-576a-8d18-faa0ed624301-s3-exporter",
        ),  # the default root
    ],
)
def test_the_key_root_of_spaces_is_the_one_it_was(setting: str, value: str, root: str) -> None:
    """Objects and proofs written before the typed settings stay where --verify looks."""
    got = exporter_root(TargetSettings.from_config({**MINIMAL, setting: value}))
    assert got == root


CHOICES = [name for name in SETTING_NAMES if "enum" in PROPERTIES[name]]


@pytest.mark.parametrize("name", CHOICES)
def test_empty_text_for_a_setting_with_a_list_of_values_is_not_set(name: str) -> None:
    """As for every other optional text setting: "" is its default (it was "'' is not one of")."""
    assert CHOICES  # format, compression, layout, server_side_encryption, ...
    target = TargetS3Endor(config={**MINIMAL, name: ""})
    assert getattr(target.settings, name) == PROPERTIES[name].get("default")
