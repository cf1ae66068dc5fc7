"""The proof is readable with DuckDB: the README's query, run against the local S3.

The target writes the proof of a generated reconciled stream (tests/support/
reconciled_stream.py) twice, as a re-run would; the README's query counts each
window once (by uuid) and lists the objects that hold it.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from tests.support.reconciled_stream import reconciled_stream
from tests.support.servers import REPO_ROOT
from tests.test_pipeline.test_query_with_duckdb import connect
from tests.test_target.conftest import run_cli_in_process


def readme_proof_queries() -> list[str]:
    """The SQL statements of the README's proof query block."""
    text = (REPO_ROOT / "README.md").read_text()
    block = text.split("-- the proof: windows per stream")[1].split("```")[0]
    statements = [s.strip() for s in ("-- the proof: windows per stream" + block).split(";")]
    return [s for s in statements if re.sub(r"--[^\n]*", "", s).strip()]


def test_the_readme_query_reads_the_proof(
    config: dict, s3_endpoint: str, bucket: str, tmp_path: Path
) -> None:
    stream = reconciled_stream(11)
    for _ in range(2):  # a re-run writes every window again: counted once
        run = run_cli_in_process(config, stream.text, tmp=tmp_path)
        assert run.returncode == 0, run.stderr
    db = connect(s3_endpoint)
    windows_query, objects_query = readme_proof_queries()
    windows_query = windows_query.replace("my-endorlabs-exports", bucket)
    rows = db.execute(windows_query).fetchall()
    by_pair: dict[tuple[Any, Any], tuple[int, int]] = {(r[0], r[1]): (r[2], r[3]) for r in rows}
    assert sum(windows for windows, _ in by_pair.values()) == len(stream.promised)
    assert sum(records for _, records in by_pair.values()) == sum(stream.promised.values())

    objects = db.execute(objects_query.replace("my-endorlabs-exports", bucket)).fetchall()
    assert objects and all(key.startswith("endor/") and records > 0 for _, key, records in objects)
