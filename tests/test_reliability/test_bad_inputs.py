"""Every bad input of the catalogue (bad_inputs.py): one clear line, the right exit code.

No traceback, no key outside the prefix (nor a ``..``/``.`` segment or a control
character in one), and nothing lost that was accepted: a printed state means
its records are in S3, and acceptable-but-odd input is written whole.
"""

from __future__ import annotations

import json
import subprocess
import uuid
from pathlib import Path
from typing import Any

import pytest

from tap_endorlabs.tap import TapEndorLabs
from target_s3_endor.layouts.endor import exporter_root
from target_s3_endor.settings.model import TargetSettings
from target_s3_endor.target import TargetS3Endor
from tests.s3_listing import list_objects
from tests.support.in_process_cli import run_cli_in_process
from tests.support.servers import ServerProcess
from tests.test_pipeline.conftest import tap_config, target_config
from tests.test_reliability.bad_inputs import CATALOGUE, BadInput
from tests.test_reliability.harness import TAP, TARGET


def test_the_catalogue_is_big_enough() -> None:
    assert len(CATALOGUE) >= 25
    assert len({case.name for case in CATALOGUE}) == len(CATALOGUE)


def run_case(
    case: BadInput, workdir: Path, base: dict[str, Any], *, in_process: bool = True
) -> subprocess.CompletedProcess:
    """Run the case's plugin: in this process unless a stream is closed or ``in_process`` is off."""
    config = {k: v for k, v in base.items() if k not in case.drop} | case.config
    config_text = json.dumps(config) if case.config_text is None else case.config_text
    (workdir / "config.json").write_text(config_text)
    command = [TAP if case.plugin == "tap" else TARGET]
    if not case.no_config:
        command += ["--config", str(workdir / "config.json")]
    if case.state is not None:
        (workdir / "state.json").write_text(case.state)
        command += ["--state", str(workdir / "state.json")]
    for name, text in case.files.items():
        (workdir / name).write_text(text)
    command += [str(workdir / arg[1:]) if arg.startswith("@") else arg for arg in case.args]
    if in_process and not case.closed:
        # The command's own code, in this process (tests/support/in_process_cli.py);
        # test_in_process_runs_end_as_the_command_does checks that both end alike.
        plugin = TapEndorLabs if case.plugin == "tap" else TargetS3Endor
        return run_cli_in_process(plugin, command[1:], case.lines)
    if case.closed == "pipe":
        return run_into_closed_pipe(command)
    if case.closed:
        # The shell starts the plugin with the stream closed, as `cmd <&-` does.
        redirect = "<&-" if case.closed == "stdin" else ">&-"
        command = ["sh", "-c", f'exec "$0" "$@" {redirect}', *command]
    return subprocess.run(command, input=case.lines, capture_output=True, timeout=120, check=False)


def run_into_closed_pipe(command: list[str]) -> subprocess.CompletedProcess:
    """Run with stdout a pipe whose reader stops after the first bytes, as a dead target."""
    with subprocess.Popen(
        command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    ) as process:
        assert process.stdout is not None and process.stderr is not None
        first = process.stdout.read(1)
        process.stdout.close()
        stderr = process.stderr.read()
        code = process.wait(timeout=120)
    assert first, "the tap wrote nothing before the pipe closed"
    return subprocess.CompletedProcess(command, code, b"", stderr)


def says_matches(says: str, line: str) -> bool:
    """Whether ``line`` holds the parts of ``says`` between its "..." in order."""
    position = 0
    for part in says.split("..."):
        found = line.find(part, position)
        if found < 0:
            return False
        position = found + len(part)
    return True


def input_uuids(case: BadInput) -> list[str]:
    uuids = []
    for raw in case.lines.splitlines():
        try:
            message = json.loads(raw)
        except ValueError:
            continue
        if isinstance(message, dict) and message.get("type") == "RECORD":
            uuids.append(str(message["record"].get("uuid")))
    return uuids


def assert_keys_are_safe(keys: list[str], config: dict[str, Any]) -> None:
    # Only what the key root is made of: the case's bad value may be another setting's.
    named = {k: v for k, v in config.items() if k in {"prefix", "exporter_name", "exporter_uuid"}}
    root = exporter_root(TargetSettings.from_config({"bucket": "b", **named})) + "/"
    for key in keys:
        assert key.startswith(root), key
        assert not set(key.split("/")) & {".", "..", ""}, key
        assert key.isprintable(), repr(key)
        assert all(len(segment) <= 200 for segment in key.split("/")), key


@pytest.mark.parametrize("case", CATALOGUE, ids=[case.name for case in CATALOGUE])
def test_bad_input(  # noqa: PLR0917 - pytest fixtures
    case: BadInput,
    tmp_path: Path,
    emulator: ServerProcess,
    s3_endpoint: str,
    s3_client: Any,
    bucket: str,
) -> None:
    base = tap_config(emulator) if case.plugin == "tap" else target_config(s3_endpoint, bucket)
    assert_handled(case, run_case(case, tmp_path, base), base, s3_client, bucket)


# Cases run as the command, in a process of its own, too: the in-process run must end
# alike (exit code and error line), and the command's own start and exit stay covered
# (the cases with a stream closed always run as the command).
AS_A_PROCESS = (
    "tap: wrong api secret",
    "tap: state file holding a whole STATE message (accepted: its value)",
    "target: bucket missing",
    "target: random bytes in a line",
    "target: the tap killed mid-line",
)


@pytest.mark.parametrize("name", AS_A_PROCESS)
def test_in_process_runs_end_as_the_command_does(  # noqa: PLR0917 - pytest fixtures
    name: str,
    tmp_path: Path,
    emulator: ServerProcess,
    s3_endpoint: str,
    s3_client: Any,
    s3_endpoint_bucket: tuple[str, str],
) -> None:
    (case,) = [case for case in CATALOGUE if case.name == name]
    endings = []
    for in_process, bucket in zip((False, True), s3_endpoint_bucket, strict=True):
        base = tap_config(emulator) if case.plugin == "tap" else target_config(s3_endpoint, bucket)
        workdir = tmp_path / ("in-process" if in_process else "process")
        workdir.mkdir()
        result = run_case(case, workdir, base, in_process=in_process)
        assert_handled(case, result, base, s3_client, bucket)
        last = result.stderr.decode(errors="replace").strip().splitlines()[-1]
        # The error line's message (a log line's time and level before " | " differ).
        endings.append((result.returncode, last.split(" | ")[-1] if case.exit_code else ""))
    assert endings[0] == endings[1]


@pytest.fixture
def s3_endpoint_bucket(s3_client: Any) -> tuple[str, str]:
    """Two new buckets: one for the process, one for the in-process run."""
    names = (f"test-{uuid.uuid4().hex[:20]}", f"test-{uuid.uuid4().hex[:20]}")
    for name in names:
        s3_client.create_bucket(Bucket=name)
    return names


def assert_handled(
    case: BadInput,
    result: subprocess.CompletedProcess,
    base: dict[str, Any],
    s3_client: Any,
    bucket: str,
) -> None:
    """One clear line and the right exit code; nothing accepted lost, no key outside the prefix."""
    stderr = result.stderr.decode(errors="replace")
    lines = [line for line in stderr.splitlines() if line.strip()]

    assert result.returncode == case.exit_code, stderr[-2000:]
    assert "Traceback" not in stderr
    assert case.logs in stderr
    if case.exit_code:
        errors = [line for line in lines if "ERROR" in line or line.startswith("tap-endorlabs:")]
        assert errors and errors[0] == lines[-1], "the error line must be the last word"
        assert len(errors) == 1, errors
        assert says_matches(case.says, errors[0]), errors[0]
    if case.hides:
        assert case.hides not in stderr
        assert errors[0] == lines[-1]
    if case.plugin == "target":
        stored = list_objects(s3_client, bucket)
        assert_keys_are_safe([s.key for s in stored], base | case.config)
        written = sorted(str(r.get("uuid")) for s in stored for r in s.records)
        states = [line for line in result.stdout.decode().splitlines() if line.strip()]
        if case.exit_code == 0 or states:
            assert written == sorted(input_uuids(case))
