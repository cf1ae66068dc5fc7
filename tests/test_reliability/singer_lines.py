"""Hand-made Singer messages and a target process a test can drive line by line."""

from __future__ import annotations

import fcntl
import json
import subprocess
import termios
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tests.test_reliability.harness import TARGET

AUDIT_SCHEMA = {
    "type": "SCHEMA",
    "stream": "audit_logs",
    "key_properties": ["uuid"],
    "schema": {
        "type": "object",
        "properties": {
            "uuid": {"type": "string"},
            "meta": {"type": "object", "additionalProperties": True},
            "tenant_meta": {"type": "object", "additionalProperties": True},
        },
        "additionalProperties": True,
    },
}
BASE_TIME = datetime(2025, 3, 1, tzinfo=UTC)


def audit_record(number: int, namespace: str = "acme") -> dict[str, Any]:
    """A RECORD message for one audit log with every layout field."""
    moment = BASE_TIME + timedelta(seconds=number)
    return {
        "type": "RECORD",
        "stream": "audit_logs",
        "record": {
            "uuid": f"audit-{number:06d}",
            "meta": {"create_time": moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")},
            "tenant_meta": {"namespace": namespace},
        },
    }


def state_message(position: int) -> dict[str, Any]:
    """A STATE message marking how far the records went."""
    return {"type": "STATE", "value": {"bookmarks": {"audit_logs": {"position": position}}}}


def lines(*messages: dict[str, Any]) -> bytes:
    """Messages as Singer lines."""
    return b"".join(json.dumps(message).encode() + b"\n" for message in messages)


class TargetProcess:
    """A target reading from a pipe this test writes."""

    def __init__(self, config: dict[str, Any], workdir: Path) -> None:
        workdir.mkdir(parents=True, exist_ok=True)
        config_file = workdir / "target.json"
        config_file.write_text(json.dumps(config))
        self.stderr_file = (workdir / "target.err").open("w+b")
        self.process = subprocess.Popen(
            [TARGET, "--config", str(config_file)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.stderr_file,
        )

    def send(self, data: bytes) -> None:
        """Write lines to the target's input."""
        assert self.process.stdin is not None
        self.process.stdin.write(data)
        self.process.stdin.flush()

    def wait_idle(self, timeout: float = 30) -> None:
        """Wait until the target has read every line and blocks reading the next.

        The pipe is empty (FIONREAD) and the main thread sleeps in the kernel's
        pipe read: every message sent so far has been handled.  Returns at once
        if the target has exited (its exit code and stderr then say why).
        """
        assert self.process.stdin is not None
        deadline = time.monotonic() + timeout
        wchan = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/wchan")
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                return
            pending = fcntl.ioctl(self.process.stdin.fileno(), termios.FIONREAD, b"\0\0\0\0")
            if int.from_bytes(pending, "little") == 0 and "pipe_read" in wchan.read_text():
                return
            time.sleep(0.01)
        raise AssertionError(f"target did not become idle: {self.stderr()[-2000:]}")

    def finish(self, timeout: float = 60) -> tuple[int, list[dict[str, Any]], str]:
        """Wait for exit; return its code, the states it printed and its stderr."""
        assert self.process.stdout is not None
        out = self.process.stdout.read()
        code = self.process.wait(timeout=timeout)
        states = [json.loads(line) for line in out.decode().splitlines() if line.strip()]
        return code, states, self.stderr()

    def stderr(self) -> str:
        """Everything the target logged so far."""
        self.stderr_file.flush()
        return Path(self.stderr_file.name).read_text(errors="replace")
