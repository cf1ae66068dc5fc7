"""Analytics: DuckDB reads the export straight from S3 and counts what the emulator holds.

The tap runs once against the emulator; its output goes to the target twice
(both commands run in-process: the export is what is queried):
gzip JSON lines in the Endor layout, and Parquet in the Security Lake layout.
DuckDB reads both through its S3 support (httpfs, loaded from the
``duckdb-extension-httpfs`` package: nothing is downloaded at run time) pointed
at the local S3 server, as the README's "Query your export" shows.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import duckdb
import duckdb_extension_httpfs
import pytest
from singer_sdk.plugin_base import PluginBase

from tap_endorlabs.tap import TapEndorLabs
from target_s3_endor.target import TargetS3Endor
from tests.conftest import S3_TEST_CREDENTIALS
from tests.emulator.clock import parse_rfc3339_us
from tests.support.emulator_client import ground_truth
from tests.support.in_process_cli import run_cli_in_process
from tests.support.servers import ServerProcess
from tests.test_pipeline.conftest import START_DATE, tap_config, target_config
from tests.test_reliability.ground import expected_export


def httpfs_path() -> Path:
    """The httpfs build for this DuckDB version, as the PyPI package ships it."""
    root = Path(duckdb_extension_httpfs.__file__).parent / "extensions"
    return root / f"v{duckdb.__version__}" / "httpfs.duckdb_extension"


def connect(endpoint: str) -> duckdb.DuckDBPyConnection:
    """DuckDB with S3 pointed at the local server (path-style, no TLS)."""
    db = duckdb.connect()
    db.execute(f"LOAD '{httpfs_path()}'")
    db.execute(f"SET s3_endpoint = '{urlsplit(endpoint).netloc}'")
    db.execute("SET s3_url_style = 'path'")
    db.execute("SET s3_use_ssl = false")
    db.execute(f"SET s3_region = '{S3_TEST_CREDENTIALS['region_name']}'")
    db.execute(f"SET s3_access_key_id = '{S3_TEST_CREDENTIALS['aws_access_key_id']}'")
    db.execute(f"SET s3_secret_access_key = '{S3_TEST_CREDENTIALS['aws_secret_access_key']}'")
    return db


def run(plugin: type[PluginBase], config: Path, stdin: Path | None = None) -> bytes:
    """The plugin's command on ``stdin``, in this process: its output is what is queried."""
    data = stdin.read_bytes() if stdin else b""
    done = run_cli_in_process(plugin, ["--config", str(config)], data)
    assert done.returncode == 0, done.stderr.decode()[-3000:]
    stdout: bytes = done.stdout
    return stdout


@pytest.fixture
def tap_output(tmp_path: Path, pipeline_emulator: ServerProcess) -> Path:
    (tmp_path / "tap.json").write_text(json.dumps(tap_config(pipeline_emulator)))
    messages = tmp_path / "messages.singer"
    messages.write_bytes(run(TapEndorLabs, tmp_path / "tap.json"))
    return messages


def load(workdir: Path, messages: Path, config: dict[str, Any], name: str) -> None:
    (workdir / name).write_text(json.dumps(config))
    run(TargetS3Endor, workdir / name, stdin=messages)


def ocsf_streams_only(messages: Path) -> Path:
    """The messages of streams with an OCSF class: what selecting them in the tap sends.

    A stream not selected is not read, so its reconciliations do not come either.
    """
    kept = messages.with_suffix(".ocsf.singer")
    dropped = {"projects", "scan_results"}
    with messages.open() as source, kept.open("w") as out:
        for line in source:
            message = json.loads(line)
            if message.get("stream") in dropped:
                continue
            if message.get("stream") == "reconciliations" and (
                (message.get("record") or {}).get("stream") in dropped
            ):
                continue
            out.write(line)
    return kept


def expected_counts(server: ServerProcess) -> dict[str, int]:
    expected = expected_export(server, START_DATE)
    since = parse_rfc3339_us(START_DATE)
    authentication = [
        log
        for log in ground_truth(server, "authentication-logs")
        if parse_rfc3339_us(log["meta"]["create_time"]) >= since
    ]
    return {
        "audit_logs": len(expected.audit_uuids),
        "authentication_logs": len(authentication),
        "findings": sum(len(found) for found in expected.scan_findings.values()),
    }


def test_duckdb_counts_the_gzip_jsonl_and_parquet_exports(
    tmp_path: Path,
    tap_output: Path,
    pipeline_emulator: ServerProcess,
    s3_endpoint: str,
    bucket: str,
) -> None:
    base = target_config(s3_endpoint, bucket)
    load(tmp_path, tap_output, {**base, "format": "jsonl", "compression": "gzip"}, "jsonl.json")
    lake = {**base, "layout": "security-lake", "security_lake_account_id": "123456789012"}
    load(tmp_path, ocsf_streams_only(tap_output), lake, "lake.json")
    want = expected_counts(pipeline_emulator)
    assert all(want.values()), want
    db = connect(s3_endpoint)

    def jsonl(folder: str) -> int:
        pattern = f"s3://{bucket}/endor/*/*/{folder}/*/*/*/*.jsonl.gz"
        return distinct_uuids(pattern)

    def distinct_uuids(pattern: str) -> int:
        columns = "columns = {'uuid': 'VARCHAR'}"
        query = f"SELECT count(DISTINCT uuid) FROM read_ndjson('{pattern}', {columns})"
        return int(db.execute(query).fetchone()[0])  # type: ignore[index]

    assert jsonl("audit-logs") == want["audit_logs"]
    assert jsonl("authentication-logs") == want["authentication_logs"]
    findings = f"s3://{bucket}/endor/*/*/*/*/*/*.jsonl.gz"  # project/scan type/ref/scan object
    query = (
        f"SELECT count(DISTINCT uuid) FROM read_ndjson('{findings}', columns={{'uuid': 'VARCHAR'}})"
    )
    assert db.execute(query).fetchone()[0] == want["findings"]  # type: ignore[index]

    def lake_count(*sources: str) -> int:
        files = ", ".join(f"'s3://{bucket}/ext/{source}/*/*/*/*.parquet'" for source in sources)
        query = (
            "SELECT count(DISTINCT metadata.uid) FROM read_parquet("
            f"[{files}], hive_partitioning = true, union_by_name = true) "
            "WHERE accountId = '123456789012' AND region = 'us-east-1'"
        )
        return int(db.execute(query).fetchone()[0])  # type: ignore[index]

    assert lake_count("endorlabs-audit-logs") == want["audit_logs"]
    assert lake_count("endorlabs-authentication-logs") == want["authentication_logs"]
    findings_sources = ("endorlabs-vulnerability-findings", "endorlabs-detection-findings")
    assert lake_count(*findings_sources) == want["findings"]
    # Partition pruning works on the date folders: one day's count from its folder alone.
    day = db.execute(
        f"SELECT eventDay, count(*) FROM read_parquet('s3://{bucket}/ext/endorlabs-audit-logs/"
        "*/*/*/*.parquet', hive_partitioning = true) GROUP BY eventDay ORDER BY 2 DESC LIMIT 1"
    ).fetchone()
    assert day is not None
    one_day = db.execute(
        f"SELECT count(*) FROM read_parquet('s3://{bucket}/ext/endorlabs-audit-logs/*/*/"
        f"eventDay={day[0]}/*.parquet')"
    ).fetchone()
    assert one_day is not None and one_day[0] == day[1]
