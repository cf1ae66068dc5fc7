"""Run ``tap-endorlabs`` and read back what it wrote: as a process, or in this one.

``run_tap`` starts the tap's command as a child process: what a test of the CLI,
its exit status, signals, pipes or environment needs.  ``run_tap_in_process``
runs the same ``TapEndorLabs.invoke`` (preflight, sync, one-line fatal errors)
inside the test's process, against the same real HTTP emulator, and returns the
same ``TapRun``: for tests that look only at the records and states the tap
emits, without the ~1 s of CPU a process spends importing singer-sdk.
"""

from __future__ import annotations

import atexit
import io
import json
import logging
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

from singer_sdk.logging import ConsoleFormatter
from singer_sdk.plugin_base import _ConfigInput, _plugin_log_level

from tap_endorlabs.tap import TapEndorLabs
from tests.conftest import EMULATOR_KEY, EMULATOR_NAMESPACE, EMULATOR_SECRET
from tests.support.emulator_client import all_objects, call_json

TAP = str(Path(sys.executable).parent / "tap-endorlabs")
STREAMS = (
    "audit_logs",
    "authentication_logs",
    "projects",
    "scan_results",
    "findings",
    "finding_logs",
)
RESOURCES = {
    "audit_logs": "audit-logs",
    "authentication_logs": "authentication-logs",
    "projects": "projects",
    "scan_results": "scan-results",
    "findings": "findings",
    "finding_logs": "finding-logs",
}
#: Environment variable that sets ``max_concurrent_requests`` in every ``tap_config``.
CONCURRENCY_ENV = "TAP_TEST_MAX_CONCURRENT_REQUESTS"
# The emulator's namespace and its children: what include_child_namespaces exports.
NAMESPACES = ("acme", "acme.platform", "acme.security")


@dataclass
class TapRun:
    """One finished tap process: its records per stream, states, stderr, exit code."""

    returncode: int
    stderr: str
    records: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    states: list[dict[str, Any]] = field(default_factory=list)
    messages: list[dict[str, Any]] = field(default_factory=list)  # all of them, in order
    stdout: str = ""  # as written, for what the lines look like

    @property
    def final_state(self) -> dict[str, Any]:
        """The last STATE message's value."""
        return self.states[-1] if self.states else {}

    def uuids(self, stream: str) -> list[str]:
        """Record uuids of a stream, in emission order."""
        return [record["uuid"] for record in self.records[stream]]


def tap_config(url: str, **overrides: Any) -> dict[str, Any]:
    """A config for the emulator at ``url`` (default key and namespace, a year back)."""
    config: dict[str, Any] = {
        "namespace": EMULATOR_NAMESPACE,
        "api_key": EMULATOR_KEY,
        "api_secret": EMULATOR_SECRET,
        "api_url": url,
        # The emulator creates projects months back; a year keeps runs short yet complete.
        "start_date": (datetime.now(UTC) - timedelta(days=365)).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    # The whole suite can run at another concurrency (1: one request at a time):
    # TAP_TEST_MAX_CONCURRENT_REQUESTS=1 pytest tests/test_tap
    if os.environ.get(CONCURRENCY_ENV):
        config["max_concurrent_requests"] = int(os.environ[CONCURRENCY_ENV])
    config.update(overrides)
    return {key: value for key, value in config.items() if value is not None}


def run_tap(
    config: dict[str, Any],
    state: dict[str, Any] | None = None,
    *,
    timeout: float = 180,
    env: dict[str, str] | None = None,
) -> TapRun:
    """Run the tap to completion with ``config`` (and ``state``)."""
    with tempfile.TemporaryDirectory() as tmp:
        config_path = Path(tmp) / "config.json"
        config_path.write_text(json.dumps(config))
        command = [TAP, "--config", str(config_path)]
        if state is not None:
            state_path = Path(tmp) / "state.json"
            state_path.write_text(json.dumps(state))
            command += ["--state", str(state_path)]
        child_env = {k: v for k, v in os.environ.items() if not k.startswith("ENDOR_")}
        child_env.update(env or {})
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=timeout, env=child_env, check=False
        )
    return parse_output(done.stdout, done.returncode, done.stderr)


class _InProcessTap(TapEndorLabs):
    """The tap, each instance remembered: the runner flushes its writer as the exit would."""

    created: ClassVar[list[TapEndorLabs]] = []

    def __init__(self, **kwargs: Any) -> None:
        _InProcessTap.created.append(self)
        super().__init__(**kwargs)


@contextmanager
def _process_like(env: dict[str, str] | None) -> Iterator[tuple[io.TextIOWrapper, io.StringIO]]:
    """Stdout, stderr, logging, signal handlers and ``ENDOR_*`` variables as a fresh process's.

    Everything the run changes in this process is put back afterwards, so one run
    cannot pass or fail because of an earlier one.
    """
    stdout = io.TextIOWrapper(io.BytesIO(), encoding="utf-8", write_through=True)
    stderr = io.StringIO()
    saved_streams = (sys.stdout, sys.stderr)
    saved_signals = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    saved_env = dict(os.environ)
    root = logging.getLogger()
    saved_level = root.level
    # As the CLI does (singer_sdk._logging): the SDK's console format, on stderr.
    handler = logging.StreamHandler(stderr)
    handler.setFormatter(ConsoleFormatter())
    for name in [name for name in os.environ if name.startswith("ENDOR_")]:
        del os.environ[name]
    os.environ.update(env or {})
    sys.stdout, sys.stderr = stdout, stderr
    root.addHandler(handler)
    root.setLevel(_plugin_log_level(plugin_name=TapEndorLabs.name))
    try:
        yield stdout, stderr
    finally:
        root.removeHandler(handler)
        root.setLevel(saved_level)
        sys.stdout, sys.stderr = saved_streams
        for sig, handler_before in saved_signals.items():
            signal.signal(sig, handler_before)
        os.environ.clear()
        os.environ.update(saved_env)


def run_tap_in_process(
    config: dict[str, Any],
    state: dict[str, Any] | None = None,
    *,
    env: dict[str, str] | None = None,
) -> TapRun:
    """Run the tap to completion in this process, as ``run_tap`` runs it as a process.

    The code path is the command's own after its option parsing
    (``TapEndorLabs.invoke``): preflight, sync, fatal errors as one line and an exit
    code.  An exception the command would let through becomes its traceback on
    stderr and exit code 1, as in a process.
    """
    threads_before = set(threading.enumerate())
    _InProcessTap.created.clear()
    with _process_like(env) as (stdout, stderr):
        try:
            _InProcessTap.invoke(
                config=_ConfigInput(config=json.loads(json.dumps(config))),
                state=None if state is None else io.StringIO(json.dumps(state)),
            )
            returncode = 0
        except SystemExit as stop:
            code = stop.code
            if isinstance(code, str):
                stderr.write(code + "\n")
            returncode = code if isinstance(code, int) else (0 if code is None else 1)
        except Exception:  # what a process would print on its way out
            stderr.write(traceback.format_exc())
            returncode = 1
        for tap in _InProcessTap.created:
            writer = getattr(tap, "message_writer", None)
            if writer is not None:  # what the process's exit flushes (output.py)
                writer.flush()
                atexit.unregister(writer.flush)
        _InProcessTap.created.clear()
    # Threads the run started (namespaces read ahead) must have ended with it.
    for thread in set(threading.enumerate()) - threads_before:
        thread.join(timeout=30)
        assert not thread.is_alive(), f"the tap left {thread.name} running"
    return parse_output(stdout.buffer.getvalue().decode(), returncode, stderr.getvalue())  # type: ignore[attr-defined]


def is_record(line: str) -> bool:
    """The default moment to act: the tap's first RECORD has been read."""
    return '"RECORD"' in line


def run_tap_acting(
    config: dict[str, Any],
    action: Callable[[subprocess.Popen[str]], object],
    *,
    after: Callable[[str], bool] | int = is_record,
    timeout: float = 180,
) -> TapRun:
    """Run the tap and call ``action(process)`` mid-run, before reading its output on.

    ``after`` is when: the first line it accepts, or after that many lines.  Until
    ``action`` returns the tap's output stays unread, so the tap blocks on the full
    pipe and what ``action`` does (revoke tokens, let time pass, SIGTERM) falls in
    the middle of the run however fast the machine is.  Every line must be whole
    JSON (``parse_output`` reads each one).
    """
    with tempfile.TemporaryDirectory() as tmp:
        config_path = Path(tmp) / "config.json"
        config_path.write_text(json.dumps(config))
        child_env = {k: v for k, v in os.environ.items() if not k.startswith("ENDOR_")}
        with (Path(tmp) / "stderr.txt").open("w+") as stderr:
            process = subprocess.Popen(
                [TAP, "--config", str(config_path)],
                stdout=subprocess.PIPE,
                stderr=stderr,
                text=True,
                env=child_env,
            )
            assert process.stdout is not None
            lines: list[str] = []
            while line := process.stdout.readline():
                lines.append(line)
                if after(line) if callable(after) else len(lines) == after:
                    action(process)
                    break
            else:
                raise AssertionError("the tap ended before the moment to act came")
            lines.append(process.stdout.read())
            process.wait(timeout=timeout)
            stderr.seek(0)
            return parse_output("".join(lines), process.returncode, stderr.read())


def run_tap_past_token_lifetime(config: dict[str, Any], lifetime_seconds: float) -> TapRun:
    """Run the tap with its output held unread, mid-run, until its first token has expired.

    A run that merely lasted longer than the token finished inside it once windows
    were read ahead.  The wait is the stimulus under test, time passing, not a
    synchronisation.
    """
    return run_tap_acting(config, lambda _: time.sleep(lifetime_seconds + 1))


def parse_output(stdout: str, returncode: int, stderr: str) -> TapRun:
    """Split Singer output into records per stream and state values."""
    run = TapRun(returncode=returncode, stderr=stderr, stdout=stdout)
    for line in stdout.splitlines():
        message = json.loads(line)
        run.messages.append(message)
        if message["type"] == "RECORD":
            run.records[message["stream"]].append(message["record"])
        elif message["type"] == "STATE":
            run.states.append(message["value"])
    return run


def truth(url: str, stream: str, namespaces: tuple[str, ...] = ("acme",)) -> list[dict[str, Any]]:
    """The emulator's ground truth for a stream, as the tap should export it."""
    objects = [
        o
        for o in all_objects(url, RESOURCES[stream])
        if o["tenant_meta"]["namespace"] in namespaces
    ]
    if stream == "scan_results":
        objects = [o for o in objects if o["spec"].get("end_time")]
    return objects


def assert_exported_once(uuids: list[str], expected: list[dict[str, Any]]) -> None:
    """Every expected object was exported, nothing else, and nothing twice."""
    assert len(uuids) == len(set(uuids)), "duplicates in output"
    assert set(uuids) == {o["uuid"] for o in expected}


def control(url: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    """POST to an emulator control endpoint."""
    answer: dict[str, Any] = call_json(url, "POST", f"/_emulator/{path}", body or {})
    return answer


def stats(url: str) -> dict[str, Any]:
    """The emulator's request statistics."""
    answer: dict[str, Any] = call_json(url, "GET", "/_emulator/stats")
    return answer
