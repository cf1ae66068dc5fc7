"""The direct record path (record_path.py, the reader loop in target.py) and the SDK
features it hands records back for.

The direct path skips the SDK's map machinery only where it would change
nothing; these tests pin what each SDK feature does to the written records, so a
stream that wrongly took the direct path would show up as an unmapped record.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.test_target.conftest import (
    all_objects,
    assert_one_clear_line,
    audit_log,
    lines,
    record,
    records_in,
    run_cli_in_process,
    schema,
)

AUDIT_SCHEMA = schema("audit_logs")  # uuid a string, any other field


def written(
    config: dict[str, Any], text: str, s3_client: Any, bucket: str, tmp: Path
) -> list[dict[str, Any]]:
    run = run_cli_in_process(config, text, tmp=tmp)
    assert run.returncode == 0, run.stderr
    out: list[dict[str, Any]] = []
    for key, data in sorted(all_objects(s3_client, bucket).items()):
        out += records_in(key, data, tmp)
    return sorted(out, key=lambda rec: str(rec.get("uuid")))


def test_plain_stream_is_written_exactly_and_sdc_fields_are_dropped_as_the_sdk_does(
    config: dict, s3_client: Any, bucket: str, tmp_path: Path
) -> None:
    logs = [audit_log(n) for n in range(3)]
    sdc = {"_sdc_sequence": 7, "_sdc_extracted_at": "2025-01-02T00:00:00Z"}
    sent = [{**log, **sdc} for log in logs]
    text = lines(AUDIT_SCHEMA, *(record("audit_logs", rec) for rec in sent))
    assert written(config, text, s3_client, bucket, tmp_path) == logs


def test_stream_map_removing_a_field_and_filtering_records_applies(
    config: dict, s3_client: Any, bucket: str, tmp_path: Path
) -> None:
    maps = {"audit_logs": {"spec": "__NULL__", "__filter__": "uuid != 'audit-00001'"}}
    text = lines(AUDIT_SCHEMA, *(record("audit_logs", audit_log(n)) for n in range(3)))
    out = written({**config, "stream_maps": maps}, text, s3_client, bucket, tmp_path)
    assert [rec["uuid"] for rec in out] == ["audit-00000", "audit-00002"]
    assert all("spec" not in rec for rec in out)


def test_flattening_applies(config: dict, s3_client: Any, bucket: str, tmp_path: Path) -> None:
    settings = {**config, "flattening_enabled": True, "flattening_max_depth": 1}
    with_meta = json.loads(AUDIT_SCHEMA)
    with_meta["schema"]["properties"]["meta"] = {
        "type": "object",
        "properties": {"kind": {"type": "string"}},
    }
    text = lines(json.dumps(with_meta), record("audit_logs", audit_log(1)))
    [out] = written(settings, text, s3_client, bucket, tmp_path)
    assert out["meta__kind"] == "AuditLog"
    assert "meta" not in out


def test_record_metadata_is_added_when_asked(
    config: dict, s3_client: Any, bucket: str, tmp_path: Path
) -> None:
    text = lines(AUDIT_SCHEMA, record("audit_logs", audit_log(1)))
    [out] = written({**config, "add_record_metadata": True}, text, s3_client, bucket, tmp_path)
    assert out["uuid"] == "audit-00001"
    assert "_sdc_received_at" in out


def test_a_new_schema_for_a_stream_validates_the_records_after_it(
    config: dict, tmp_path: Path
) -> None:
    """The direct path caches each stream's sink; a new SCHEMA must replace it."""
    stricter = json.loads(AUDIT_SCHEMA)
    stricter["schema"]["properties"]["uuid"] = {"type": "integer"}
    text = lines(
        AUDIT_SCHEMA,
        record("audit_logs", audit_log(1)),
        json.dumps(stricter),
        record("audit_logs", audit_log(2)),
    )
    run = run_cli_in_process(config, text, tmp=tmp_path)
    assert_one_clear_line(
        run,
        "record 1 of stream 'audit_logs' does not match its SCHEMA",
        "data.uuid must be integer",
    )


def test_a_record_missing_its_key_property_is_refused(config: dict, tmp_path: Path) -> None:
    keyless = {key: value for key, value in audit_log(1).items() if key != "uuid"}
    run = run_cli_in_process(
        config, lines(AUDIT_SCHEMA, record("audit_logs", keyless)), tmp=tmp_path
    )
    assert_one_clear_line(run, "missing one or more key_properties")


def test_the_reader_counts_every_message_kind(config: dict, tmp_path: Path) -> None:
    """The target's own reader loop (target.py) reports what the SDK's would."""
    text = lines(
        AUDIT_SCHEMA,
        *(record("audit_logs", audit_log(n)) for n in range(3)),
        json.dumps({"type": "STATE", "value": {"bookmarks": {}}}),
        json.dumps({"type": "ACTIVATE_VERSION", "stream": "audit_logs", "version": 1}),
    )
    run = run_cli_in_process(config, text, tmp=tmp_path)
    assert run.returncode == 0, run.stderr
    assert (
        "completed processing 6 lines of input (1 schemas, 3 records, 0 batch manifests, "
        "1 state messages, 1 activate version messages)"
    ) in run.stderr
