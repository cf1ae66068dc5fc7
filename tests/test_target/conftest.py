"""Helpers for the target's tests: run the real CLI, read back what S3 holds."""

from __future__ import annotations

import gzip
import io
import json
import logging
import signal
import subprocess
import sys
import traceback
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager, redirect_stdout
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any
from unittest import mock

import botocore.loaders
import pytest
from singer_sdk.contrib.msgspec import MsgSpecReader

from target_s3_endor.storage.written import ObjectObserver
from target_s3_endor.target import TargetS3Endor
from tests.s3_listing import decode_member, member_name
from tests.support.servers import REPO_ROOT

DATA_FILES = Path(__file__).resolve().parents[1] / "data_files"
# Inputs that failed, with what is right for each (../shared/cases/README.md), read where
# they stand so that a case changed there is the case tested here.
SHARED_CASES = REPO_ROOT.parent / "shared" / "cases"
TARGET_CMD = [
    sys.executable,
    "-c",
    "from target_s3_endor.target import TargetS3Endor; TargetS3Endor.cli()",
]


@dataclass
class TargetRun:
    """A finished target process."""

    returncode: int
    stdout: str
    stderr: str

    @property
    def states(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.stdout.splitlines() if line.strip()]

    @property
    def error_lines(self) -> list[str]:
        return [line for line in self.stderr.splitlines() if "| ERROR" in line]


def run_in_process(
    config: dict[str, Any], messages: str, observer: ObjectObserver | None = None
) -> TargetS3Endor:
    """The target over ``messages`` in this process (cheaper than a child where the CLI
    proves nothing); ``observer`` sees every object written.  Printed states are dropped."""
    with process_globals_kept():
        target = TargetS3Endor(config=config, validate_config=True)
        if observer is not None:
            target.run.on_object_written(observer)
        with redirect_stdout(io.StringIO()):
            target.listen(file_input=io.StringIO(messages))
    return target


# botocore's data files (endpoints, the S3 model and its rules: ~2 MB of JSON) are parsed
# again by every new session's loader: most of an in-process run's CPU.  A process runs one
# target and parses them once; in-process runs share one loader (its data is read-only).
_LOADERS: dict[str | None, botocore.loaders.Loader] = {}


def _shared_loader(search_path_string: str | None = None) -> botocore.loaders.Loader:
    if search_path_string not in _LOADERS:
        _LOADERS[search_path_string] = botocore.loaders.create_loader(search_path_string)
    return _LOADERS[search_path_string]


@contextmanager
def process_globals_kept() -> Iterator[None]:
    """Put back what a CLI run changes for its whole process: handlers and the level of the
    root logger, SIGINT/SIGTERM handlers, ``sys.excepthook``, captured warnings, stdin.
    Meanwhile its botocore sessions share one data loader (``_shared_loader``)."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    signals = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM)}
    excepthook, default_input = sys.excepthook, MsgSpecReader.default_input
    try:
        with mock.patch("botocore.session.create_loader", _shared_loader):
            yield
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
        for signum, handler in signals.items():
            signal.signal(signum, handler)
        sys.excepthook = excepthook
        MsgSpecReader.default_input = default_input
        logging.captureWarnings(False)


def invoke_in_process(args: list[str], stdin: IO[str], stdout: IO[str]) -> tuple[int, str]:
    """The target's command line run in this process: (exit code, what it logged).

    The same command as a child runs (click, ``--config``, the one-line errors, the exit
    code, here as ``SystemExit``), ``stdin`` and ``stdout`` in place of its pipes (a text
    stream over bytes, as a pipe is: the target reads and prints bytes), stderr captured.
    An exception a child would die of is written to stderr with its traceback, exit code 1.
    """
    stderr = io.StringIO()
    returncode = 0
    saved = sys.stdin, sys.stdout, sys.stderr
    with process_globals_kept():
        sys.stdin, sys.stdout, sys.stderr = stdin, stdout, stderr
        MsgSpecReader.default_input = stdin  # the SDK read sys.stdin when it was imported
        try:
            command = TargetS3Endor.cli  # sets up logging to (this) sys.stderr
            command.main(args, prog_name="target-s3-endor")
        except SystemExit as exc:
            code = exc.code
            returncode = code if isinstance(code, int) else (0 if code is None else 1)
        except BaseException:  # what a child process would die of
            stderr.write(traceback.format_exc())
            returncode = 1
        finally:
            sys.stdin, sys.stdout, sys.stderr = saved
    return returncode, stderr.getvalue()


def bytes_stdout() -> io.TextIOWrapper:
    """A stdout whose bytes (``.buffer.getvalue()``) are what the target printed."""
    return io.TextIOWrapper(io.BytesIO(), encoding="utf-8", write_through=True)


def run_cli_in_process(config: dict[str, Any], messages: str, *args: str, tmp: Path) -> TargetRun:
    """``run_target`` without the child process (``invoke_in_process``): ~1 s of CPU less.

    For tests of what the target writes, prints and logs; what needs a process of its own
    (signals, pipes, start-up, environment, exit hooks, a crash) uses ``run_target``.
    """
    config_path = tmp / f"config-{len(list(tmp.glob('config-*')))}.json"
    config_path.write_text(json.dumps(config))
    stdin = io.TextIOWrapper(io.BytesIO(messages.encode()), encoding="utf-8")
    stdout = bytes_stdout()
    code, stderr = invoke_in_process(["--config", str(config_path), *args], stdin, stdout)
    buffer = stdout.buffer
    assert isinstance(buffer, io.BytesIO)
    return TargetRun(code, buffer.getvalue().decode(), stderr)


def run_target(config: dict[str, Any], messages: str, *args: str, tmp: Path) -> TargetRun:
    """Run ``target-s3-endor`` as a child process with ``messages`` on stdin."""
    config_path = tmp / f"config-{len(list(tmp.glob('config-*')))}.json"
    config_path.write_text(json.dumps(config))
    done = subprocess.run(
        [*TARGET_CMD, "--config", str(config_path), *args],
        input=messages,
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        timeout=120,
        check=False,
    )
    return TargetRun(done.returncode, done.stdout, done.stderr)


def start_draining_target(config: dict, tmp_path: Path, *, stderr: int) -> subprocess.Popen[str]:
    """A target fed by the test through a pipe, with batch age 0: every record drains
    all sinks, so STATE is emitted as the run goes and can be read line by line."""
    config_path = tmp_path / "config.json"
    config_path.write_text(json.dumps({**config, "batch_max_age_seconds": 0}))
    return subprocess.Popen(
        [*TARGET_CMD, "--config", str(config_path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=stderr,
        text=True,
        cwd=REPO_ROOT,
    )


def shared_case(name: str) -> str:
    """An input of ``../shared/cases/`` (``target/interleaved-scans.singer``)."""
    return (SHARED_CASES / name).read_text()


def singer_file(name: str) -> str:
    """A fixture from tests/data_files/."""
    return (DATA_FILES / name).read_text()


def schema(stream: str, **extra: Any) -> str:
    body = {
        "type": "object",
        "properties": {"uuid": {"type": "string"}},
        "additionalProperties": True,
    }
    return json.dumps(
        {"type": "SCHEMA", "stream": stream, "schema": body, "key_properties": ["uuid"], **extra}
    )


def record(stream: str, rec: dict[str, Any]) -> str:
    return json.dumps({"type": "RECORD", "stream": stream, "record": rec})


def state(value: Any) -> str:
    return json.dumps({"type": "STATE", "value": value})


def audit_log(n: int, namespace: str = "acme", day: int = 2) -> dict[str, Any]:
    return {
        "uuid": f"audit-{n:05d}",
        "meta": {
            "create_time": f"2025-01-{day:02d}T03:04:{n % 60:02d}.123456Z",
            "kind": "AuditLog",
        },
        "tenant_meta": {"namespace": namespace},
        "spec": {"operation": "OPERATION_CREATE", "claims": ["user=jane@x509"], "amount": 1.50},
    }


def finding(
    n: int,
    scan: str = "scan-1",
    *,
    last: bool = False,
    ref: str = "main",
    project_uuid: str = "proj-1",
    project_name: str = "https://github.com/acme/python-repo.git",
    level: str = "FINDING_LEVEL_HIGH",
    scan_type: str = "schedule",
) -> dict[str, Any]:
    return {
        "uuid": f"{scan}-finding-{n:05d}",
        "meta": {"name": f"rule-{n % 3}", "create_time": "2025-12-15T14:00:00Z"},
        "tenant_meta": {"namespace": "acme"},
        "spec": {
            "level": level,
            "summary": f"summary {n}",
            "project_uuid": project_uuid,
            "dependency_file_paths": ["requirements.txt"],
            "target_dependency_package_name": "pypi://requests@2.0.0",
            "finding_categories": ["FINDING_CATEGORY_VULNERABILITY"],
        },
        "scan_context": {
            "scan_uuid": scan,
            "scan_time": "2025-12-15T14:30:25Z",
            "scan_type": scan_type,
            "ref": ref,
            "project_uuid": project_uuid,
            "project_name": project_name,
            "namespace": "acme",
            "last": last,
        },
    }


def as_exported(item: dict[str, Any]) -> dict[str, Any]:
    """A record as the objects hold it: ``scan_context.last`` is the tap's signal, not data."""
    context = item.get("scan_context")
    if not isinstance(context, dict):
        return item
    return {**item, "scan_context": {k: v for k, v in context.items() if k != "last"}}


def lines(*messages: str) -> str:
    return "\n".join(messages) + "\n"


def all_objects(s3_client: Any, bucket: str) -> dict[str, bytes]:
    """Every object in the bucket: key -> bytes."""
    out: dict[str, bytes] = {}
    for page in s3_client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for item in page.get("Contents", []):
            out[item["Key"]] = s3_client.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
    return out


def open_with_tools(key: str, data: bytes, tmp: Path) -> bytes:
    """Decompress an object with the standard command-line tools (unzip / gzip)."""
    path = tmp / Path(key).name
    path.write_bytes(data)
    if key.endswith(".zip"):
        names = zipfile.ZipFile(io.BytesIO(data)).namelist()
        assert len(names) == 1, names
        return subprocess.run(["unzip", "-p", str(path)], capture_output=True, check=True).stdout
    if key.endswith(".gz"):
        tool = subprocess.run(["gzip", "-dc", str(path)], capture_output=True, check=True).stdout
        assert tool == gzip.decompress(data)
        return tool
    return data


def records_in(key: str, data: bytes, tmp: Path) -> list[dict[str, Any]]:
    """Records in an object as the standard tools open it, decoded by tests/s3_listing.py."""
    return decode_member(member_name(key, data), open_with_tools(key, data, tmp))


def assert_one_clear_line(run: TargetRun, *fragments: str) -> None:
    """The run failed with exactly one ERROR line, no traceback, naming every fragment."""
    assert run.returncode == 1
    assert "Traceback" not in run.stderr
    assert len(run.error_lines) == 1, run.stderr
    for fragment in fragments:
        assert fragment in run.error_lines[0], run.error_lines


@pytest.fixture
def config(s3_endpoint: str, bucket: str) -> dict[str, Any]:
    """A minimal working config for the local S3 server."""
    return {
        "bucket": bucket,
        "endpoint_url": s3_endpoint,
        "region": "us-east-1",
        "exporter_name": "prod-exporter",
        "max_attempts": 2,
        "connect_timeout_seconds": 2,
    }
