"""Issue 21.2 and 21.4: a spool that cannot grow, and a failed run, end in one line.

A spool directory that fills ended in "ERROR | 28" and two chained OSError
tracebacks; a run that stopped on a missing bucket printed one ``ResourceWarning:
unclosed file`` per open batch after its error line.  The spool is made unable
to grow with ``RLIMIT_FSIZE`` (what ``ulimit -f`` sets: writes past it fail with
EFBIG, as a full disk fails with ENOSPC), so the test needs no disk to fill.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

from tests.support.servers import REPO_ROOT
from tests.test_target.conftest import (
    TARGET_CMD,
    TargetRun,
    assert_one_clear_line,
    audit_log,
    lines,
    record,
    schema,
    state,
)

SPOOL_LIMIT_BYTES = 256 * 1024


def _run(config: dict[str, Any], text: str, tmp: Path, *, limit_files: bool = False) -> TargetRun:
    config_path = tmp / "config.json"
    config_path.write_text(json.dumps(config))
    command = [*TARGET_CMD, "--config", str(config_path)]
    if limit_files:  # SIGXFSZ ignored: a write past the limit fails with EFBIG instead
        blocks = SPOOL_LIMIT_BYTES // 1024  # ulimit -f counts 1024-byte blocks (or 512: smaller)
        command = ["sh", "-c", f'trap "" XFSZ; ulimit -f {blocks}; exec "$@"', "sh", *command]
    done = subprocess.run(
        command,
        input=text,
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        timeout=120,
        check=False,
        env={**os.environ, "PYTHONWARNINGS": "default"},
    )
    return TargetRun(done.returncode, done.stdout, done.stderr)


def _incompressible_audit_logs(count: int) -> str:
    records = []
    for n in range(count):
        body = audit_log(n)
        body["noise"] = os.urandom(200).hex()  # deflate cannot shrink it below the limit
        records.append(record("audit_logs", body))
    return lines(schema("audit_logs"), *records, state({"position": count}))


def test_a_spool_that_cannot_grow_ends_in_one_line_naming_spool_dir(
    config: dict[str, Any], tmp_path: Path
) -> None:
    spool = tmp_path / "spool"
    spool.mkdir()
    run = _run(
        {**config, "spool_dir": str(spool)},
        _incompressible_audit_logs(2000),
        tmp_path,
        limit_files=True,
    )

    assert_one_clear_line(run, f"the batch spool in {spool} has no room", "spool_dir")
    assert run.stdout == ""  # no state for records that are not in S3
    assert "ResourceWarning" not in run.stderr


def test_a_failed_run_leaves_no_unclosed_files_behind(
    config: dict[str, Any], tmp_path: Path
) -> None:
    streams = ("audit_logs", "projects", "findings")
    messages = [schema(stream) for stream in streams]
    for n in range(60):  # many namespaces and days: many open batches when the upload fails
        messages.append(record("audit_logs", audit_log(n, namespace=f"ns{n % 12}", day=n % 28 + 1)))
        messages.append(record("projects", {"uuid": f"p{n}", "tenant_meta": {"namespace": "a"}}))
    run = _run({**config, "bucket": "no-such-bucket-here"}, lines(*messages), tmp_path)

    assert_one_clear_line(run, "bucket no-such-bucket-here does not exist")
    assert "ResourceWarning" not in run.stderr
    assert run.error_lines[0] in run.stderr.strip().splitlines()[-1]
