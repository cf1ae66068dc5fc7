"""A plugin's command line run inside the test's process, ended as the process would end.

A plugin process spends about a second of CPU importing singer-sdk before it reads
its first argument; a test of what the command line answers to a bad input (its
exit status, its one error line) runs the same click command here, on stdin,
stdout and stderr of its own, and gets a ``CompletedProcess`` as from
``subprocess.run``.  What only a process shows stays a process in the tests:
streams closed at start (``<&-``), a reader that goes away (a broken pipe),
signals, start-up itself.

Everything the command changes in this process is put back afterwards: the
streams, the root logger's handlers and the levels the command set, signal
handlers, ``sys.excepthook``, warning filters.  What the command registered with
``atexit`` runs when the command ends, as at a process's exit; a thread it leaves
running fails the caller.
"""

from __future__ import annotations

import atexit
import gc
import io
import logging
import signal
import sys
import threading
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from singer_sdk.plugin_base import PluginBase

_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def _text_stream(data: bytes = b"", *, errors: str = "strict") -> io.TextIOWrapper:
    """A text stream over bytes, with ``.buffer`` as a real standard stream has."""
    return io.TextIOWrapper(io.BytesIO(data), encoding="utf-8", errors=errors, write_through=True)


def _current_stdin(_: object) -> Any:
    return sys.stdin


def _logger_settings() -> dict[str, tuple[int, bool, list[logging.Handler]]]:
    loggers = [logging.getLogger()] + [
        logger
        for logger in logging.root.manager.loggerDict.values()
        if isinstance(logger, logging.Logger)
    ]
    return {
        logger.name: (logger.level, logger.propagate, list(logger.handlers)) for logger in loggers
    }


def _restore_loggers(saved: dict[str, tuple[int, bool, list[logging.Handler]]]) -> None:
    for name, (level, propagate, handlers) in saved.items():
        logger = logging.getLogger(name) if name != "root" else logging.getLogger()
        logger.setLevel(level)
        logger.propagate = propagate
        logger.handlers[:] = handlers


@contextmanager
def _exit_functions() -> Iterator[list[Callable[[], Any]]]:
    """Collect what is registered with ``atexit`` meanwhile, kept from this process's exit."""
    registered: list[Callable[[], Any]] = []
    real_register = atexit.register

    def register(function: Callable[..., Any], *args: Any, **kwargs: Any) -> Callable[..., Any]:
        registered.append(lambda: function(*args, **kwargs))
        return function

    atexit.register = register  # type: ignore[assignment]
    try:
        yield registered
    finally:
        atexit.register = real_register


def run_cli_in_process(
    plugin: type[PluginBase], args: list[str], stdin: bytes = b""
) -> Any:  # subprocess.CompletedProcess[bytes]
    """Run ``plugin``'s command with ``args`` on ``stdin``; its exit code, stdout and stderr."""
    import subprocess

    reader = getattr(plugin, "message_reader_class", None)
    if reader is not None:
        # The SDK's reader took ``sys.stdin`` when it was imported; a process reads its
        # own stdin, this run reads the one set below.
        reads_now = type(reader.__name__, (reader,), {"default_input": property(_current_stdin)})
        plugin = type(plugin.__name__, (plugin,), {"message_reader_class": reads_now})
    threads_before = set(threading.enumerate())
    saved_streams = (sys.stdin, sys.stdout, sys.stderr)
    saved_signals = {sig: signal.getsignal(sig) for sig in _SIGNALS}
    saved_hook = sys.excepthook
    saved_loggers = _logger_settings()
    stdout, stderr = _text_stream(), _text_stream(errors="backslashreplace")
    sys.stdin, sys.stdout, sys.stderr = _text_stream(stdin), stdout, stderr
    code: int
    try:
        with warnings.catch_warnings(), _exit_functions() as at_exit:
            try:
                # ``cli`` sets up the SDK's console logging on the stderr now in place.
                plugin.cli.main(args=args, prog_name=plugin.name)
                code = 0
            except SystemExit as stop:
                if isinstance(stop.code, str):
                    sys.stderr.write(stop.code + "\n")
                code = stop.code if isinstance(stop.code, int) else int(stop.code is not None)
            except Exception:
                sys.excepthook(*sys.exc_info())  # type: ignore[arg-type]
                code = 1
            for function in reversed(at_exit):  # the process's exit
                function()
            sys.stdout.flush()
    finally:
        logging.captureWarnings(False)
        _restore_loggers(saved_loggers)
        sys.stdin, sys.stdout, sys.stderr = saved_streams
        sys.excepthook = saved_hook
        for sig, handler in saved_signals.items():
            signal.signal(sig, handler)
    # An idle pool's worker ends when its executor is collected (a process's exit
    # ends it too): collect what the run left, then every thread it started must end.
    # Only when a thread is left: a full collection of the test process's heap costs
    # ~0.1 s of CPU, and most runs leave none (issue 23: 10 of the bad-input
    # catalogue's 23 s were gc.collect).
    if set(threading.enumerate()) - threads_before:
        gc.collect()
    for thread in set(threading.enumerate()) - threads_before:
        thread.join(timeout=30)
        assert not thread.is_alive(), f"{plugin.name} left {thread.name} running"
    return subprocess.CompletedProcess(
        [plugin.name, *args],
        code,
        stdout.buffer.getvalue(),  # type: ignore[attr-defined]
        stderr.buffer.getvalue(),  # type: ignore[attr-defined]
    )
