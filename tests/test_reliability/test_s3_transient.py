"""Issue 21.3: a transient S3 answer neither ends the run nor stalls it.

Through the fault proxy (tests/s3_fault_proxy.py) in front of moto, with the
real target command line:

* S3 refusing connections (nothing listening) for a while: ridden out within
  ``max_retry_seconds``; past it, one line.
* ``403 RequestTimeTooSkewed``: once is retried; for the whole budget, the line
  says the machine's clock is off and by how much.
* ``400 ExpiredToken`` with ``role_arn``: the role's credentials are renewed (a
  second sts:AssumeRole, as moto records it) and the upload goes through.
* ``AWS_WEB_IDENTITY_TOKEN_FILE`` naming a missing file: one line, in runs and
  in ``--test``.
"""

from __future__ import annotations

import json
import os
import queue
import socket
import subprocess
import threading
from pathlib import Path
from typing import IO, Any

from tests.s3_listing import list_objects
from tests.support.emulator_client import call_json
from tests.support.servers import REPO_ROOT, ServerProcess, start_server
from tests.test_target.conftest import (
    TARGET_CMD,
    TargetRun,
    assert_one_clear_line,
    audit_log,
    lines,
    record,
    run_cli_in_process,
    schema,
    state,
)

ROLE_ARN = "arn:aws:iam::123456789012:role/endor-export"
TEXT = lines(
    schema("audit_logs"), *(record("audit_logs", audit_log(n)) for n in range(3)), state({"n": 3})
)


def set_faults(proxy: ServerProcess, faults: list[dict[str, Any]]) -> None:
    call_json(proxy, "POST", "/_proxy/faults", {"faults": faults, "seed": 5})


def _config(endpoint: str, bucket: str, **extra: Any) -> dict[str, Any]:
    return {
        "bucket": bucket,
        "endpoint_url": endpoint,
        "region": "us-east-1",
        "max_attempts": 2,
        "connect_timeout_seconds": 2,
        **extra,
    }


def _stored_uuids(s3_client: Any, bucket: str) -> list[str]:
    return sorted(r["uuid"] for s in list_objects(s3_client, bucket) for r in s.records)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _pump(stream: IO[str], into: queue.Queue[str], keep: list[str]) -> None:
    for line in stream:
        keep.append(line)
        into.put(line)


def test_s3_refusing_connections_for_a_while_is_ridden_out(
    local_s3: ServerProcess, s3_client: Any, bucket: str, tmp_path: Path
) -> None:
    port = _free_port()  # nothing listens here until the target has met the refusal
    config_path = tmp_path / "config.json"
    config_path.write_text(
        json.dumps(_config(f"http://127.0.0.1:{port}", bucket, max_retry_seconds=120))
    )
    target = subprocess.Popen(
        [*TARGET_CMD, "--config", str(config_path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO_ROOT,
    )
    assert target.stdin is not None and target.stderr is not None
    target.stdin.write(TEXT)
    target.stdin.close()
    said: queue.Queue[str] = queue.Queue()
    stderr: list[str] = []
    threading.Thread(target=_pump, args=(target.stderr, said, stderr), daemon=True).start()
    while "retrying in" not in (line := said.get(timeout=60)):
        assert "ERROR" not in line, line
    # S3 comes back on the same address; the target's next try must reach it.
    with start_server(
        "S3 fault proxy", "tests.s3_fault_proxy", ["--upstream", local_s3.url, "--port", str(port)]
    ):
        assert target.stdout is not None
        out = target.stdout.read()
        target.wait(timeout=120)
    assert target.returncode == 0, "".join(stderr)[-3000:]
    assert json.loads(out.splitlines()[-1]) == {"n": 3}
    assert _stored_uuids(s3_client, bucket) == ["audit-00000", "audit-00001", "audit-00002"]


def test_one_clock_skew_answer_is_retried(
    s3_proxy: ServerProcess, s3_client: Any, bucket: str, tmp_path: Path
) -> None:
    # One skewed answer (issue 23: three cost 1 + 2 + 4 s of the target's pauses, in real
    # time); a skew that lasts is the next test's.
    set_faults(s3_proxy, [{"type": "skew", "times": 1, "method": "PUT"}])
    run = run_cli_in_process(
        _config(s3_proxy.url, bucket, max_retry_seconds=60), TEXT, tmp=tmp_path
    )

    assert run.returncode == 0, run.stderr[-3000:]
    assert run.states == [{"n": 3}]
    assert call_json(s3_proxy, "GET", "/_proxy/stats")["injected"] == {"skew": 1}
    assert len(_stored_uuids(s3_client, bucket)) == 3


def test_a_clock_skew_that_lasts_says_the_machine_clock_is_off(
    s3_proxy: ServerProcess, bucket: str, tmp_path: Path
) -> None:
    set_faults(s3_proxy, [{"type": "skew", "rate": 1.0, "method": "PUT"}])
    run = run_cli_in_process(_config(s3_proxy.url, bucket, max_retry_seconds=2), TEXT, tmp=tmp_path)

    assert_one_clear_line(
        run, "RequestTimeTooSkewed", "machine's clock is off by about 1200 s (behind)", "NTP"
    )
    assert run.stdout == ""


def _assume_role_calls(proxy: ServerProcess) -> int:
    """STS calls through the proxy: sts:AssumeRole is a POST to ``/`` (uploads are PUTs)."""
    return int(call_json(proxy, "GET", "/_proxy/stats")["paths"].get("POST /", 0))


def test_credentials_s3_says_expired_are_renewed(
    s3_proxy: ServerProcess, s3_client: Any, bucket: str, tmp_path: Path
) -> None:
    set_faults(s3_proxy, [{"type": "expired", "times": 1, "method": "PUT"}])
    config = _config(
        s3_proxy.url,
        bucket,
        role_arn=ROLE_ARN,
        sts_endpoint_url=s3_proxy.url,  # moto answers STS too; the proxy counts the calls
        max_retry_seconds=0,  # the renewal is not a retry of a transient failure
    )
    run = run_cli_in_process(config, TEXT, tmp=tmp_path)

    assert run.returncode == 0, run.stderr[-3000:]
    assert run.states == [{"n": 3}]
    assert "renewing them" in run.stderr
    assert _assume_role_calls(s3_proxy) == 2  # the first session, then the renewed one
    assert len(_stored_uuids(s3_client, bucket)) == 3


def _run_with_env(config: dict[str, Any], env: dict[str, str], tmp: Path, *args: str) -> TargetRun:
    config_path = tmp / "config.json"
    config_path.write_text(json.dumps(config))
    child_env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"}
    }
    done = subprocess.run(
        [*TARGET_CMD, "--config", str(config_path), *args],
        input=TEXT,
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        timeout=120,
        check=False,
        env={**child_env, **env},
    )
    return TargetRun(done.returncode, done.stdout, done.stderr)


def test_a_missing_web_identity_token_file_is_one_line(
    s3_endpoint: str, bucket: str, tmp_path: Path
) -> None:
    missing = tmp_path / "eks" / "token"
    env = {"AWS_WEB_IDENTITY_TOKEN_FILE": str(missing), "AWS_ROLE_ARN": ROLE_ARN}
    config = _config(s3_endpoint, bucket, max_retry_seconds=0)

    run = _run_with_env(config, env, tmp_path)
    assert_one_clear_line(run, f"web identity token file {missing}", "AWS_WEB_IDENTITY_TOKEN_FILE")
    assert run.stdout == ""

    probe = _run_with_env(config, env, tmp_path, "--test")
    assert probe.returncode == 1
    assert "Traceback" not in probe.stderr
    assert "S3 access FAILED" in probe.stdout and str(missing) in probe.stdout


def test_the_connection_test_answers_without_the_retry_budget(bucket: str, tmp_path: Path) -> None:
    keys = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing-secret"}
    config = _config(f"http://127.0.0.1:{_free_port()}", bucket, max_attempts=1, **keys)
    probe = _run_with_env(config, {}, tmp_path, "--test")

    assert probe.returncode == 1
    assert "S3 access FAILED" in probe.stdout and "unreachable" in probe.stdout
    assert "retrying in" not in probe.stderr  # max_retry_seconds (default 180) is not spent
