"""Temporary files for spools and objects, each closed at exit if its owner has not.

A run that stops on an error (a missing bucket) left its open batches' files to
the interpreter's shutdown, which printed one ``ResourceWarning: unclosed file``
per open batch after the run's one error line.  Every temporary file the target
opens is made here and closed at exit.  A leaf module: formats, spools and
sinks all use it.
"""

from __future__ import annotations

import atexit
import contextlib
import tempfile
import weakref
from typing import IO

_OPEN_FILES: weakref.WeakSet[IO[bytes]] = weakref.WeakSet()


@atexit.register
def _close_open_files() -> None:
    for file in list(_OPEN_FILES):
        with contextlib.suppress(OSError):
            file.close()


def closed_at_exit(file: IO[bytes]) -> IO[bytes]:
    """``file``, closed at exit if it is still open then."""
    _OPEN_FILES.add(file)
    return file


def temporary_file(spool_dir: str | None, prefix: str) -> IO[bytes]:
    """An anonymous ``w+b`` temporary file in ``spool_dir``, closed at exit if still open."""
    return closed_at_exit(tempfile.TemporaryFile(mode="w+b", dir=spool_dir, prefix=prefix))
