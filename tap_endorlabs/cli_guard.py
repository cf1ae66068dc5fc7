"""One clear line, never a traceback, on every path of the tap's command line.

The SDK's command prints tracebacks for errors raised in its option callbacks
(``--discover``, ``--test``), click prints three lines of usage for a bad flag,
and a target that stops reading leaves ``BrokenPipeError`` tracebacks from the
write and again from the exit-time flush.  ``OneLineCommand.main`` is the one
place all of them end: one ``tap-endorlabs: error: ...`` line on stderr and a
non-zero exit, secrets scrubbed.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Sequence
from typing import Any, NoReturn

import click
from singer_sdk.exceptions import ConfigValidationError
from singer_sdk.plugin_base import SingerCommand

from tap_endorlabs.errors import FatalTapError, one_line, redact

TARGET_STOPPED = (
    "the target stopped reading the tap's output (broken pipe): see the target's own "
    "error; the next run resumes from the last state the target wrote"
)
STDOUT_CLOSED = (
    "standard output is closed: pipe the tap into a target, for example "
    "tap-endorlabs --config tap.json | target-s3-endor --config target.json"
)


def exit_with(message: str, secrets: Iterable[str] = ()) -> NoReturn:
    """Print one scrubbed ``tap-endorlabs: error:`` line on stderr and exit 1."""
    sys.stderr.write(f"tap-endorlabs: error: {one_line(redact(message, secrets))}\n")
    sys.stderr.flush()
    sys.exit(1)


def detach_stdout() -> None:
    """Point stdout at the null device, so no later flush fails on the closed pipe."""
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, ValueError, OSError):
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, fd)
    os.close(devnull)


class OneLineCommand(SingerCommand):
    """The SDK's command, with every expected failure reduced to one line."""

    #: Secret values from ``--config``, to scrub from error text (set by cb_config).
    secrets: Sequence[str] = ()

    def main(  # type: ignore[override]
        self, args: Sequence[str] | None = None, prog_name: str | None = None, **extra: Any
    ) -> NoReturn:
        """Run the command; turn every expected failure into one line."""
        extra.pop("standalone_mode", None)
        if sys.stdout is None:
            exit_with(STDOUT_CLOSED)
        try:
            result = super().main(args, prog_name, standalone_mode=False, **extra)
        except click.ClickException as exc:
            # A bad flag or file argument: click's own words, without the usage block.
            sys.stderr.write(f"tap-endorlabs: error: {one_line(exc.format_message())}\n")
            sys.exit(exc.exit_code)
        except click.Abort:
            exit_with("interrupted")
        except FatalTapError as exc:
            exit_with(str(exc), OneLineCommand.secrets)
        except ConfigValidationError as exc:
            problems = "; ".join(str(error) for error in exc.errors) or str(exc)
            exit_with(f"Invalid configuration: {problems}", OneLineCommand.secrets)
        sys.exit(result if isinstance(result, int) else 0)

    def invoke(self, ctx: click.Context) -> Any:
        """Run the tap; a closed pipe is caught here, before click exits on it silently."""
        try:
            return super().invoke(ctx)
        except BrokenPipeError:
            detach_stdout()
            exit_with(TARGET_STOPPED)


def one_line_command(command: click.Command) -> click.Command:
    """The SDK's command as a ``OneLineCommand`` (same options, callbacks and logger)."""
    assert isinstance(command, SingerCommand)
    command.__class__ = OneLineCommand
    return command
