"""Issue 21.1: every valid record is carried, whatever its strings and times hold.

Two kinds of "poison record" stopped every run at the same place:

* a lone UTF-16 surrogate escape (``"cut emoji \\ud83d"``, valid JSON) refused as
  "not valid JSON"; it is carried and written back as the same escape text;
* a time outside a format's range (zip headers hold 1980..2107; keys, OCSF and
  Parquet times, Security Lake days): ``struct.error`` or ``OverflowError``
  tracebacks.  Container metadata may be clamped; the record's text never changes.

The CLI runs show it end to end against moto; hypothesis drives times from 0001 to
9999, with any UTC offset, through the target in-process for every format and
container (a CLI run per example would cost a second each).
"""

from __future__ import annotations

import io
import json
import uuid
import zipfile
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from target_s3_endor.formats.containers import ZipMember
from target_s3_endor.formats.encoding import COMPRESSIONS, FORMATS
from target_s3_endor.naming import compact_time, parse_time
from target_s3_endor.target import TargetS3Endor
from tests.s3_listing import list_objects
from tests.test_target.conftest import (
    all_objects,
    as_exported,
    audit_log,
    finding,
    process_globals_kept,
    run_cli_in_process,
    schema,
)

LONE = "cut emoji \ud83d"
# The STATE's value as json.dumps writes it, which the target hands back byte for byte.
STATE_TEXT = '{"cursor": "cut emoji \\ud83d"}'
# Epoch 0, Go's zero time, the last moment, zip's edges, and offsets that push a
# time past datetime's range when it is turned to UTC.
EDGE_TIMES = [
    "1970-01-01T00:00:00Z",
    "0001-01-01T00:00:00Z",
    "9999-12-31T23:59:59.999999Z",
    "0001-01-01T00:30:00+01:00",
    "9999-12-31T23:30:00-01:00",
    "1979-12-31T23:59:59Z",
    "2108-01-01T00:00:00Z",
]


def _audit(number: int, create_time: str, name: str = "plain") -> dict[str, Any]:
    record = audit_log(number)
    record["meta"]["create_time"] = create_time
    record["meta"]["name"] = name
    return record


def _finding(number: int, scan_time: str, summary: str) -> dict[str, Any]:
    record = finding(number, scan=f"scan-{number}", last=True)
    record["scan_context"]["scan_time"] = scan_time
    record["meta"]["create_time"] = scan_time
    record["spec"]["summary"] = summary
    return record


def _input(audit: list[dict[str, Any]], findings: list[dict[str, Any]]) -> str:
    """Singer lines as json.dumps writes them: a lone surrogate as its \\udXXX escape."""
    messages = [schema("audit_logs"), schema("findings")]
    messages += [json.dumps({"type": "RECORD", "stream": "audit_logs", "record": r}) for r in audit]
    messages += [
        json.dumps({"type": "RECORD", "stream": "findings", "record": r}) for r in findings
    ]
    messages.append(json.dumps({"type": "STATE", "value": {"cursor": LONE}}))
    return "\n".join(messages) + "\n"


def _stored_records(s3_client: Any, bucket: str) -> list[dict[str, Any]]:
    return [record for stored in list_objects(s3_client, bucket) for record in stored.records]


@pytest.mark.parametrize(
    ("fmt", "compression"),
    [("json", "zip"), ("jsonl", "gzip"), ("sarif", "zip"), ("ocsf", "none"), ("json", "none")],
)
def test_lone_surrogates_and_out_of_range_times_are_carried(  # noqa: PLR0917
    fmt: str,
    compression: str,
    config: dict[str, Any],
    s3_client: Any,
    bucket: str,
    tmp_path: Path,
) -> None:
    audit = [_audit(n, moment, LONE) for n, moment in enumerate(EDGE_TIMES)]
    findings = [_finding(n, moment, LONE) for n, moment in enumerate(EDGE_TIMES[:3])]
    run = run_cli_in_process(
        {**config, "format": fmt, "compression": compression},
        _input(audit, findings),
        tmp=tmp_path,
    )

    assert run.returncode == 0, run.stderr[-3000:]
    assert "Traceback" not in run.stderr
    # The state comes back as it was written, its lone surrogate as the same escape text.
    assert run.stdout.splitlines()[-1] == STATE_TEXT
    bodies = all_objects(s3_client, bucket)
    assert len(bodies) >= 2
    if fmt in {"json", "jsonl"}:
        stored = _stored_records(s3_client, bucket)
        by_uuid = {record["uuid"]: record for record in stored}
        for record in [*audit, *findings]:
            # text unchanged, times included (``scan_context.last`` is the tap's signal)
            assert by_uuid[record["uuid"]] == as_exported(record)
    if compression == "none":  # the escape itself, as it came, in the object's bytes
        assert all(b"cut emoji \\ud83d" in body for body in bodies.values())


# --- hypothesis: any time of 0001..9999, any offset, every format and container ---

ANY_MOMENT = st.datetimes(
    min_value=datetime(1, 1, 1),
    max_value=datetime(9999, 12, 31, 23, 59, 59, 999999),
    timezones=st.sampled_from(
        [UTC, timezone(timedelta(hours=14)), timezone(timedelta(hours=-12, minutes=-30))]
    ),
)


def _rfc3339(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


@given(moment=ANY_MOMENT)
def test_any_time_has_a_key_time_in_range(moment: datetime) -> None:
    parsed = parse_time(_rfc3339(moment))
    assert parsed is not None
    text = compact_time(parsed)
    assert len(text) == 16, text  # YYYYMMDDTHHMMSSZ: four-digit years sort as times do
    assert datetime.strptime(text, "%Y%m%dT%H%M%SZ").year == parsed.year


@given(moment=ANY_MOMENT)
def test_any_time_makes_a_zip_every_tool_opens(moment: datetime) -> None:
    out = io.BytesIO()
    member = ZipMember(out, "audit_logs.json", moment, 3)
    member.write(b"[]")
    member.close()
    with zipfile.ZipFile(out) as archive:
        (info,) = archive.infolist()
        assert archive.read(info) == b"[]"
        assert (1980, 1, 1) <= info.date_time[:3] <= (2107, 12, 31)


COMBOS = [("endor", fmt, compression) for fmt in FORMATS for compression in COMPRESSIONS]
COMBOS.append(("security-lake", "json", "zip"))


def _run_in_process(config: dict[str, Any], text: str) -> None:
    with process_globals_kept():  # its botocore sessions share one data loader
        target = TargetS3Endor(config=config, validate_config=True)
        target.listen(io.StringIO(text))


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    combo=st.sampled_from(COMBOS),
    moments=st.lists(ANY_MOMENT, min_size=1, max_size=3),
)
def test_any_time_is_carried_by_every_format_and_container(  # noqa: PLR0917
    combo: tuple[str, str, str],
    moments: list[datetime],
    config: dict[str, Any],
    s3_client: Any,
    bucket: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    layout, fmt, compression = combo
    times = [_rfc3339(moment) for moment in moments]
    run_config = {**config, "format": fmt, "compression": compression, "layout": layout}
    if layout == "security-lake":
        run_config = {**config, "layout": layout, "security_lake_account_id": "123456789012"}
    run_config["prefix"] = f"p{uuid.uuid4().hex[:12]}"
    audit = [_audit(n, moment) for n, moment in enumerate(times)]
    findings = [_finding(n, moment, "s") for n, moment in enumerate(times)]
    capsys.readouterr()

    _run_in_process(run_config, _input(audit, findings))

    assert capsys.readouterr().out.splitlines()[-1] == STATE_TEXT
    objects = list_objects(s3_client, bucket, run_config["prefix"] + "/")  # each one decoded
    keys = [s.key for s in objects]
    if layout == "endor":
        assert len(keys) >= 2, keys
    if (fmt, compression, layout) == ("jsonl", "zip", "endor"):
        stored = [r for s in objects for r in s.records]
        assert sorted(r["meta"]["create_time"] for r in stored) == sorted(times * 2)
