"""One clear line, never a traceback, on every path of the target's command line.

click prints three lines of usage for a bad flag or a missing ``--input`` file,
and exits silently when stdout (where the state goes) is a closed pipe.  Here
each becomes one ERROR line, as every other failure of the target is, and a
non-zero exit.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

import click
from singer_sdk.plugin_base import SingerCommand

STATE_UNREAD = (
    "standard output was closed (broken pipe), so the state could not be handed back: "
    "what was written is in S3; the next run resumes from the last state received"
)

STDOUT_CLOSED = (
    "standard output is closed: the target hands back its state there; "
    "run it with stdout open, for example target-s3-endor --config target.json > state.json"
)


class OneLineCommand(SingerCommand):
    """The SDK's command, with click's usage errors and a closed stdout as one line."""

    def main(  # type: ignore[override]
        self, args: Sequence[str] | None = None, prog_name: str | None = None, **extra: Any
    ) -> NoReturn:
        """Run the command; a bad flag or file argument is one ERROR line."""
        extra.pop("standalone_mode", None)
        if sys.stdout is None:  # started with stdout closed (`>&-`)
            self.logger.error("%s", STDOUT_CLOSED)
            sys.exit(1)
        try:
            result = super().main(args, prog_name, standalone_mode=False, **extra)
        except click.ClickException as exc:
            self.logger.error("%s", " ".join(exc.format_message().split()))
            sys.exit(exc.exit_code)
        except click.Abort:
            self.logger.error("interrupted")
            sys.exit(1)
        sys.exit(result if isinstance(result, int) else 0)

    def invoke(self, ctx: click.Context) -> Any:
        """Run the target; a closed stdout is caught here, before click exits silently."""
        try:
            return super().invoke(ctx)
        except BrokenPipeError:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())  # no later flush fails on the pipe
            os.close(devnull)
            self.logger.error(STATE_UNREAD)
            sys.exit(1)


def one_line_command(command: click.Command) -> click.Command:
    """The SDK's command as a ``OneLineCommand`` (same options, callbacks and logger)."""
    assert isinstance(command, SingerCommand)
    command.__class__ = OneLineCommand
    return command
