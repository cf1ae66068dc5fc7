"""Start local HTTP servers (emulator, S3) as child processes.

Every server this project runs prints exactly one line ``LISTENING <url>`` on
stdout once its socket is bound and it accepts requests.  Waiting for that line
is the only synchronisation: no sleeps, no port guessing (servers bind port 0
and report the port the kernel gave them).
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

REPO_ROOT = Path(__file__).resolve().parents[2]
READY_PREFIX = "LISTENING "


class ServerStartError(RuntimeError):
    """A server process exited or stayed silent instead of announcing its URL."""


@dataclass
class ServerProcess:
    """A running server child process and the URL it announced."""

    name: str
    process: subprocess.Popen[str]
    url: str
    output: list[str] = field(default_factory=list)

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the server: SIGTERM, then SIGKILL if it does not go."""
        if self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=timeout)

    def __enter__(self) -> ServerProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _pump(stream: IO[str], lines: queue.Queue[str | None], keep: list[str]) -> None:
    """Copy a child's stdout into a queue (first line) and a list (the rest)."""
    for line in stream:
        keep.append(line)
        lines.put(line)
    lines.put(None)


def start_server(
    name: str,
    module: str,
    args: list[str] | None = None,
    *,
    timeout: float = 60.0,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
) -> ServerProcess:
    """Run ``python -m module args...`` and wait for its ``LISTENING`` line."""
    command = [sys.executable, "-u", "-m", module, *(args or [])]
    return start_command(name, command, timeout=timeout, env=env, cwd=cwd)


def start_command(
    name: str,
    command: list[str],
    *,
    timeout: float = 60.0,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
) -> ServerProcess:
    """Run any server command and wait for its ``LISTENING`` line."""
    child_env = {**os.environ, **(env or {})}
    child_env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(REPO_ROOT), child_env.get("PYTHONPATH", "")) if p
    )
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        text=True,
        cwd=str(cwd or REPO_ROOT),
        env=child_env,
    )
    assert process.stdout is not None
    lines: queue.Queue[str | None] = queue.Queue()
    output: list[str] = []
    threading.Thread(target=_pump, args=(process.stdout, lines, output), daemon=True).start()
    while True:
        try:
            line = lines.get(timeout=timeout)
        except queue.Empty:
            process.kill()
            raise ServerStartError(
                f"{name} did not announce itself within {timeout}s: {''.join(output)[-2000:]}"
            ) from None
        if line is None:
            process.wait()
            raise ServerStartError(
                f"{name} exited with {process.returncode} before it was ready: "
                f"{''.join(output)[-2000:]}"
            )
        if line.startswith(READY_PREFIX):
            return ServerProcess(name, process, line[len(READY_PREFIX) :].strip(), output)


def start_local_s3(*args: str, env: dict[str, str] | None = None) -> ServerProcess:
    """Start moto's S3 server (see ``tests/local_s3.py``) on a free port."""
    return start_server("local S3", "tests.local_s3", list(args), env=env)


#: The ``Retry-After`` of the emulators tests start (``--retry-after`` in ``args`` wins):
#: a test meeting a 429 waits 50 ms, not the emulator's default whole second.
TEST_RETRY_AFTER = "0.05"


def start_emulator(*args: str, env: dict[str, str] | None = None) -> ServerProcess:
    """Start the Endor Labs API emulator (``tests/emulator``) on a free port."""
    flags = ["--port", "0", "--retry-after", TEST_RETRY_AFTER, *args]
    return start_server("Endor Labs emulator", "tests.emulator", flags, env=env)


def start_s3_fault_proxy(upstream: str) -> ServerProcess:
    """Start the fault-injecting proxy (``tests/s3_fault_proxy.py``) in front of an S3 URL."""
    return start_server("S3 fault proxy", "tests.s3_fault_proxy", ["--upstream", upstream])


# s3rver (npm), a second S3 implementation: installed by `make s3rver` into tests/.npm.
S3RVER_PACKAGE = REPO_ROOT / "tests" / ".npm" / "node_modules" / "s3rver"
S3RVER_ACCESS_KEY = "S3RVER"  # s3rver's one account: key id and secret alike


def node_executable() -> str:
    """The machine's ``node``, or the one ``make s3rver`` put in the virtual environment."""
    found = shutil.which("node") or shutil.which("node", path=str(Path(sys.executable).parent))
    if found is None:
        msg = (
            "node is not installed: run `make s3rver` (it installs Node.js if the machine lacks it)"
        )
        raise ServerStartError(msg)
    return found


def start_s3rver(directory: Path) -> ServerProcess:
    """Start s3rver (``tests/s3rver_server.js``) serving from ``directory`` on a free port."""
    if not S3RVER_PACKAGE.is_dir():
        msg = f"s3rver is not installed in {S3RVER_PACKAGE.parent}: run `make s3rver`"
        raise ServerStartError(msg)
    script = REPO_ROOT / "tests" / "s3rver_server.js"
    return start_command("s3rver", [node_executable(), str(script), str(directory)])


def start_capture_server(*args: str) -> ServerProcess:
    """Start the request recorder (``tests/capture_server.py``): the attacker's end."""
    return start_server("capture server", "tests.capture_server", list(args))


def captured_requests(server: ServerProcess) -> list[dict[str, Any]]:
    """Every request the capture server received so far (method, path, headers, body)."""
    with urllib.request.urlopen(f"{server.url}/_captured", timeout=10) as answer:
        return list(json.loads(answer.read()))
