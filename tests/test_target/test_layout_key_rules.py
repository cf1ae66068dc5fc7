"""Each layout keeps its keys within S3's 1,024 bytes by its own rule (``Layout.key_rule``).

The Endor layout's keys are ``{prefix}/{exporter}/...``: a prefix too long for the
deepest key is refused.  Security Lake keys are ``ext/<source>/region=.../...``
and hold no prefix: a long prefix (ignored there) is no reason to refuse, and the
part that can make them long, the region, is checked instead.  In-process, no S3.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from target_s3_endor.errors import SettingsError
from target_s3_endor.layouts import endor, security_lake
from target_s3_endor.layouts.proof import proof_key
from target_s3_endor.layouts.registry import LAYOUTS
from target_s3_endor.naming import MAX_BATCH_ID_LENGTH, MAX_KEY_BYTES
from target_s3_endor.probe import probe_keys
from target_s3_endor.settings.checks import check_settings
from target_s3_endor.settings.model import TargetSettings
from target_s3_endor.storage.region import botocore_takes

ENDOR = {"bucket": "export-bucket", "region": "us-east-1"}
LAKE = {
    "bucket": "export-bucket",
    "region": "us-east-1",
    "layout": "security-lake",
    "security_lake_account_id": "123456789012",
}
# A prefix the Endor layout refuses: its root would leave no room for the deepest key.
LONG_PREFIX = "/".join(["exports"] * 80)
LONGEST_SOURCE = "s" * 64
BATCH = "b" * MAX_BATCH_ID_LENGTH


def test_each_layout_has_its_own_key_rule_and_accepts_a_working_configuration() -> None:
    assert {name: layout.key_rule for name, layout in LAYOUTS.items()} == {
        "endor": endor.check_key_root,
        "security-lake": security_lake.check_key_length,
    }
    for config in (ENDOR, LAKE):
        check_settings(config)


def test_a_long_prefix_is_refused_under_endor_only() -> None:
    with pytest.raises(SettingsError, match="shorten prefix") as caught:
        check_settings({**ENDOR, "prefix": LONG_PREFIX})
    assert "S3 keys hold at most 1024 bytes" in str(caught.value)
    check_settings({**LAKE, "prefix": LONG_PREFIX})  # Security Lake keys hold no prefix


def test_security_lake_keys_do_not_depend_on_prefix_or_exporter() -> None:
    plain = TargetSettings.from_config(LAKE)
    long_root = TargetSettings.from_config(
        {**LAKE, "prefix": LONG_PREFIX, "exporter_name": "e" * 300}
    )
    assert security_lake.longest_key_bytes(plain) == security_lake.longest_key_bytes(long_root)
    now = datetime(2025, 1, 1, tzinfo=UTC)
    assert all(key.startswith("ext/") for key in probe_keys(long_root, now))


def test_a_region_too_long_for_any_key_is_one_line_naming_region() -> None:
    """Under either layout: botocore takes at most 63 characters, so no region it takes makes
    a Security Lake key too long (the key rule stays, for a longer source name or account)."""
    region = "us-" + "x" * 1000 + "-1"  # AWS-shaped
    for config in (LAKE, ENDOR):
        with pytest.raises(SettingsError) as caught:
            check_settings({**config, "region": region})
        line = str(caught.value)
        assert line.startswith("region ") and "\n" not in line
        assert region not in line  # cut, not the whole kilobyte


def _longest_lake_keys(config: dict[str, Any]) -> list[str]:
    """Every kind of key layout: security-lake writes, each as long as it gets."""
    settings = TargetSettings.from_config(config)
    data = security_lake.object_key(
        LONGEST_SOURCE,
        region=str(settings.region),
        account=str(settings.security_lake_account_id),
        day="99991231",
        first_time_ms=253402300799999,  # the last millisecond of year 9999
        batch=BATCH,
    )
    root = security_lake.key_root("", data)
    own = [
        proof_key(root, datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC), BATCH),
        f"{LAYOUTS['security-lake'].manifest_folder('', data)}/99991231T235959Z_{BATCH}.json",
        *probe_keys(settings, datetime(9999, 12, 31, tzinfo=UTC)),
    ]
    return [data, *own]


@settings(max_examples=60, deadline=None)
@given(length=st.integers(min_value=1, max_value=1100), digits=st.integers(1, 2))
def test_security_lake_accepts_a_region_exactly_when_every_key_fits(
    length: int, digits: int
) -> None:
    """Invariant: a region is accepted iff botocore takes it and the longest key it makes is
    within 1024 bytes."""
    config = {
        **LAKE,
        "region": "us-" + "x" * length + "-" + "1" * digits,
        "security_lake_source_names": {"audit_logs": LONGEST_SOURCE},
        "prefix": LONG_PREFIX,
    }
    longest = max(len(key.encode()) for key in _longest_lake_keys(config))
    takes = botocore_takes(str(config["region"]))
    try:
        check_settings(config)
    except SettingsError as refused:
        assert str(refused).startswith("region ")
        assert longest > MAX_KEY_BYTES or not takes
    else:
        assert longest <= MAX_KEY_BYTES and takes
