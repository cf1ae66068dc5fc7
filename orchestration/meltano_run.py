"""``endor-meltano``: ``meltano`` whose Ctrl-C or SIGTERM keeps the state the run reached.

Interrupted itself, Meltano 4.4 cancels its run, closes its database session and
only then asks the plugins to stop; the state line the target writes on its way
out (for everything it has just put in S3) reaches a session that is gone, is
dropped without a word, and the next run exports all of it again.  Stopping the
target beside the tap is no better: once the target is gone, the tap's last
lines break Meltano's pipe (a ``BrokenPipeError`` traceback).

So this runs ``meltano ARGS`` in a process group of its own (a terminal's Ctrl-C
reaches only this process) with SIGINT ignored, and on the first SIGINT or
SIGTERM sends SIGINT to the extractor alone (the processes of that group whose
environment Meltano gave an extractor's name and no loader's; read from
``/proc``).  The tap stops at a record boundary and writes its state; the
target, at the end of its input, writes everything it received and that
state; Meltano stores it on its ordinary path, then reports the failed run.
Where no extractor is found (no ``/proc``, or the run is still starting) the
whole group gets SIGINT, which Meltano ignores.  A second signal is Meltano's
own SIGTERM (its stop, which may lose the state since the last one stored).
Exit code: Meltano's, or ``128 + signal`` when the run was interrupted.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from types import FrameType

PROC = Path("/proc")


def extractor_processes(group: int) -> list[int]:
    """Processes of ``group`` running an extractor: Meltano names it in their environment."""
    found: list[int] = []
    try:
        entries = list(PROC.iterdir())
    except OSError:
        return found
    for entry in entries:
        if not entry.name.isdigit():
            continue
        try:
            if os.getpgid(int(entry.name)) != group:
                continue
            names = {
                item.split(b"=", 1)[0] for item in (entry / "environ").read_bytes().split(b"\0")
            }
        except OSError:
            continue
        if b"MELTANO_EXTRACTOR_NAME" in names and b"MELTANO_LOADER_NAME" not in names:
            found.append(int(entry.name))
    return found


def run(args: list[str]) -> int:
    """Run ``meltano ARGS`` as the module docstring says; return the exit code to exit with."""
    meltano = shutil.which("meltano")
    if meltano is None:
        sys.stderr.write(
            "endor-meltano: error: meltano is not on PATH: "
            "pip install 'endorlabs-s3-export[orchestration]'\n"
        )
        return 1
    # Meltano inherits SIGINT ignored (an ignored signal stays ignored across exec);
    # the plugins' singer-sdk installs its own handler once started.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    process = subprocess.Popen([meltano, *args], process_group=0)
    received: list[int] = []

    def forward(signum: int, _frame: FrameType | None) -> None:
        received.append(signum)
        try:
            if len(received) > 1:
                process.send_signal(signal.SIGTERM)
                return
            sys.stderr.write(
                f"endor-meltano: {signal.Signals(signum).name}: stopping the tap; the target "
                "writes what it received and Meltano keeps its state (again to stop Meltano)\n"
            )
            taps = extractor_processes(process.pid)
            for pid in taps:
                os.kill(pid, signal.SIGINT)
            if not taps:
                os.killpg(process.pid, signal.SIGINT)
        except ProcessLookupError:
            pass

    signal.signal(signal.SIGINT, forward)
    signal.signal(signal.SIGTERM, forward)
    code = process.wait()
    return 128 + received[0] if received else code


def main() -> None:
    """The ``endor-meltano`` command."""
    sys.exit(run(sys.argv[1:]))


if __name__ == "__main__":
    main()
