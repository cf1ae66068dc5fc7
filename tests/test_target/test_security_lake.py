"""``layout: security-lake``: Parquet objects a Security Lake custom source accepts.

The rules come from AWS's custom-source guide (see ``target_s3_endor/formats/parquet.py``):
partition keys, one OCSF class per source, Parquet with zstd, row groups at
most 256 MB, records sorted by time within each object.
"""

from __future__ import annotations

import io
import json
import random
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from target_s3_endor.formats import ocsf, parquet
from target_s3_endor.layouts.security_lake import DEFAULT_SOURCE_NAMES
from tests.support.emulator_client import all_objects as emulator_objects
from tests.support.ocsf_check import ocsf_problems
from tests.support.servers import REPO_ROOT, ServerProcess
from tests.test_target.conftest import (
    TARGET_CMD,
    all_objects,
    audit_log,
    finding,
    lines,
    record,
    run_cli_in_process,
    schema,
    state,
)

ACCOUNT = "123456789012"
KEY = re.compile(
    r"^ext/(?P<source>[A-Za-z0-9_-]+)/region=us-east-1/accountId=123456789012/"
    r"eventDay=(?P<day>\d{8})/\d{8}T\d{6}Z_[0-9a-f]{16}-\d{6}\.parquet$"
)
MAX_ROW_GROUP_BYTES = 256 * 1024 * 1024


def lake_config(config: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {**config, "layout": "security-lake", "security_lake_account_id": ACCOUNT, **extra}


def vulnerable(n: int, **kwargs: Any) -> dict[str, Any]:
    rec = finding(n, **kwargs)
    rec["spec"]["finding_metadata"] = {
        "vulnerability": {
            "meta": {"name": "GHSA-abcd-efgh-ijkm"},
            "spec": {"aliases": ["CVE-2024-1"]},
        }
    }
    return rec


def shuffled_audit_logs() -> list[dict[str, Any]]:
    logs = [audit_log(n, day=2 + n % 2) for n in range(40)]
    random.Random(3).shuffle(logs)
    return logs


def written(s3_client: Any, bucket: str) -> dict[str, Any]:
    """Key -> the Parquet file (pyarrow) of every object in the bucket."""
    return {
        key: pq.ParquetFile(io.BytesIO(data))
        for key, data in all_objects(s3_client, bucket).items()
    }


def test_objects_meet_the_custom_source_rules(
    config: dict, s3_client: Any, bucket: str, tmp_path: Path
) -> None:
    audit = shuffled_audit_logs()
    text = lines(
        schema("audit_logs"),
        *(record("audit_logs", rec) for rec in audit),
        schema("findings"),
        *(record("findings", vulnerable(n) if n % 2 else finding(n)) for n in range(6)),
        state({"done": 1}),
    )
    run = run_cli_in_process(lake_config(config), text, tmp=tmp_path)
    assert run.returncode == 0, run.stderr
    assert run.states == [{"done": 1}]
    files = written(s3_client, bucket)
    sources: dict[str, set[int]] = {}
    rows_by_source: dict[str, int] = {}
    for key, file in files.items():
        match = KEY.match(key)
        assert match, key
        table = file.read()
        classes = set(table.column("class_uid").to_pylist())
        assert len(classes) == 1, key  # one OCSF class per object ...
        sources.setdefault(match["source"], set()).update(classes)
        rows_by_source[match["source"]] = rows_by_source.get(match["source"], 0) + len(table)
        times = table.column("time").to_pylist()
        assert times == sorted(times), key  # ... sorted by time
        days = {ocsf_day(t) for t in times}
        assert days == {match["day"]}, key  # in its event day's partition
        metadata = file.metadata
        for group in range(metadata.num_row_groups):
            row_group = metadata.row_group(group)
            compressed = sum(
                row_group.column(c).total_compressed_size for c in range(row_group.num_columns)
            )
            assert compressed <= MAX_ROW_GROUP_BYTES
            for c in range(row_group.num_columns):
                assert row_group.column(c).compression == "ZSTD"
        for row in table.to_pylist():
            event = {k: v for k, v in row.items() if v is not None and k != "raw_data"}
            event["unmapped"] = json.loads(row["raw_data"])
            assert not ocsf_problems(prune_nulls(event)), ocsf_problems(prune_nulls(event))
    assert sources == {  # ... and one class per source
        "endorlabs-audit-logs": {6003},
        "endorlabs-vulnerability-findings": {2002},
        "endorlabs-detection-findings": {2004},
    }
    assert rows_by_source == {
        "endorlabs-audit-logs": 40,
        "endorlabs-vulnerability-findings": 3,
        "endorlabs-detection-findings": 3,
    }


def ocsf_day(time_ms: int) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(time_ms / 1000, UTC).strftime("%Y%m%d")


def prune_nulls(value: Any) -> Any:
    """Parquet gives every column of a struct; OCSF readers drop the nulls."""
    if isinstance(value, dict):
        return {k: prune_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [prune_nulls(v) for v in value]
    return value


def test_source_names_setting_renames_and_keeps_one_class_per_source(
    config: dict, s3_client: Any, bucket: str, tmp_path: Path
) -> None:
    names = {"audit_logs": "acme_audit"}
    text = lines(schema("audit_logs"), record("audit_logs", audit_log(1)), state({}))
    run = run_cli_in_process(
        lake_config(config, security_lake_source_names=names), text, tmp=tmp_path
    )
    assert run.returncode == 0, run.stderr
    [key] = all_objects(s3_client, bucket)
    assert key.startswith("ext/acme_audit/region=us-east-1/accountId=123456789012/eventDay=")


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"security_lake_account_id": "12345678901"}, "security_lake_account_id must be"),
        ({"security_lake_account_id": None}, "security_lake_account_id must be"),
        ({"region": None}, "needs region"),
        ({"batch_max_age_seconds": 60}, "batch_max_age_seconds must be at least 300"),
        ({"security_lake_source_names": {"findings": "x"}}, "unknown keys findings"),
        ({"security_lake_source_names": {"audit_logs": "a/b"}}, "must be a Security Lake source"),
        (
            {"security_lake_source_names": {"findings.detection_finding": "endorlabs-audit-logs"}},
            "would hold two OCSF classes",
        ),
        ({"layout": "lake"}, "layout"),
    ],
)
def test_bad_settings_stop_at_start_with_one_line(
    extra: dict[str, Any], message: str, config: dict, tmp_path: Path
) -> None:
    settings = {k: v for k, v in lake_config(config, **extra).items() if v is not None}
    run = run_cli_in_process(settings, lines(state({})), tmp=tmp_path)
    assert run.returncode == 1
    assert len(run.error_lines) == 1 and message in run.error_lines[0], run.stderr
    assert "Traceback" not in run.stderr


def test_a_stream_without_an_ocsf_class_is_refused_not_dropped(
    config: dict, s3_client: Any, bucket: str, tmp_path: Path
) -> None:
    text = lines(schema("projects"), record("projects", {"uuid": "p"}), state({"x": 1}))
    run = run_cli_in_process(lake_config(config), text, tmp=tmp_path)
    assert run.returncode == 1
    assert "stream 'projects' has no OCSF class" in run.error_lines[0]
    assert run.states == [] and all_objects(s3_client, bucket) == {}


def test_missing_pyarrow_is_one_line(config: dict, tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_text(json.dumps(lake_config(config)))
    hide = "import sys; sys.modules['pyarrow'] = None; sys.modules['pyarrow.parquet'] = None; "
    command = [sys.executable, "-c", hide + TARGET_CMD[-1], "--config", str(path)]
    done = subprocess.run(
        command, input="", capture_output=True, text=True, cwd=REPO_ROOT, check=False
    )
    assert done.returncode == 1
    assert parquet.MISSING_PYARROW in done.stderr and "Traceback" not in done.stderr


def test_objects_are_sorted_by_time_across_row_groups(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Small row groups (as a big batch gets): the object is sorted as a whole."""
    monkeypatch.setattr(parquet, "ROW_GROUP_ROWS", 7)
    spool = parquet.ParquetObject(6003, str(tmp_path))
    events = [ocsf.audit_log_event(rec, ocsf_now()) for rec in shuffled_audit_logs()]
    for event in events:
        spool.append(event)
    body = spool.finish()
    file = pq.ParquetFile(body)
    assert file.metadata.num_row_groups == 6
    times = file.read().column("time").to_pylist()
    assert times == sorted(event["time"] for event in events)
    body.close()
    spool.close()


def ocsf_now() -> Any:
    from datetime import UTC, datetime

    return datetime.now(UTC)


def paths(value: Any, prefix: str = "") -> set[str]:
    """Every attribute path in a (nested) event; lists are looked through."""
    found: set[str] = set()
    if isinstance(value, dict):
        for key, item in value.items():
            found.add(prefix + key)
            found |= paths(item, prefix + key + ".")
    elif isinstance(value, list):
        for item in value:
            found |= paths(item, prefix)
    return found


def schema_paths(arrow_type: Any, prefix: str = "") -> set[str]:
    import pyarrow as pa

    found: set[str] = set()
    if isinstance(arrow_type, pa.Schema | pa.StructType):
        for field in arrow_type:
            found.add(prefix + field.name)
            found |= schema_paths(field.type, prefix + field.name + ".")
    elif isinstance(arrow_type, pa.ListType):
        found |= schema_paths(arrow_type.value_type, prefix)
    return found


@pytest.mark.parametrize(
    "stream", ["audit_logs", "authentication_logs", "findings", "finding_logs"]
)
def test_parquet_columns_hold_every_mapped_attribute(stream: str, emulator: ServerProcess) -> None:
    """Nothing the mapping writes is dropped on the way to Parquet (Arrow ignores unknown keys)."""
    resource = stream.replace("_", "-")
    mapper = ocsf.mapper_for(stream)
    assert mapper is not None
    for rec in emulator_objects(emulator, resource):
        event = parquet.parquet_row(mapper(rec, ocsf_now(), stream))
        missing = paths(event) - schema_paths(parquet.arrow_schema(event["class_uid"]))
        assert not missing, missing


def test_default_source_names_are_one_class_each() -> None:
    by_name: dict[str, set[int]] = {}
    for (_, cls), name in DEFAULT_SOURCE_NAMES.items():
        by_name.setdefault(name, set()).add(cls)
    assert all(len(classes) == 1 for classes in by_name.values())


@pytest.mark.parametrize(
    ("text", "day"),
    [("0001-01-01T00:00:00Z", "00010101"), ("9999-12-31T23:59:59.999Z", "99991231")],
)
def test_event_days_at_the_ends_of_the_calendar(text: str, day: str) -> None:
    from target_s3_endor.layouts.security_lake import event_day

    rec = {"meta": {"name": "x", "create_time": text}, "spec": {}}
    event = ocsf.audit_log_event(rec, ocsf_now())
    assert event_day(event["time"]) == day


@pytest.mark.parametrize(
    "stream", ["audit_logs", "authentication_logs", "findings", "finding_logs"]
)
def test_any_record_the_tap_schema_admits_becomes_a_parquet_row(
    stream: str, tmp_path: Path
) -> None:
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    from tests.support.schema_records import from_tap_schema

    tap_schema = json.loads(
        (REPO_ROOT / "tap_endorlabs" / "schemas" / f"{stream}.json").read_text()
    )
    mapper = ocsf.mapper_for(stream)
    assert mapper is not None

    @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
    @given(records=st.lists(from_tap_schema(tap_schema), min_size=1, max_size=4))
    def check(records: list[dict[str, Any]]) -> None:
        events = [mapper(rec, ocsf_now(), stream) for rec in records]
        by_class: dict[int, parquet.ParquetObject] = {}
        for event in events:
            missing = paths(parquet.parquet_row(event)) - schema_paths(
                parquet.arrow_schema(event["class_uid"])
            )
            assert not missing, missing
            spool = by_class.setdefault(
                event["class_uid"], parquet.ParquetObject(event["class_uid"], str(tmp_path))
            )
            spool.append(event)
        for spool in by_class.values():
            body = spool.finish()
            table = pq.read_table(body)
            assert len(table) == spool.records
            assert [json.loads(raw) for raw in table.column("raw_data").to_pylist()] == [
                e["unmapped"]
                for e in sorted(
                    (e for e in events if e["class_uid"] == spool.class_uid),
                    key=lambda e: e["time"],
                )
            ]
            body.close()
            spool.close()

    check()
