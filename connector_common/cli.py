"""One clear line, never a traceback, on every path of either plugin's command line.

The SDK's command prints tracebacks for errors raised in option callbacks
(``--config``, the tap's ``--discover`` and ``--test``), click prints three lines
of usage for a bad flag, a closed stdout makes click exit silently, and a reader
that stops reading leaves ``BrokenPipeError`` tracebacks from the write and again
from the exit-time flush.  ``OneLineCommand`` is the one place all of them end:
one line and a non-zero exit, secrets scrubbed.

What differs between the tap and the target is data, a ``CommandLine``: how the
plugin prints its line (the tap writes ``tap-endorlabs: error: ...`` on stderr,
the target logs an ERROR record like its other failures), what it says about a
closed stdout, and which of its exceptions are "plain" (the message is the whole
story: no traceback).
"""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, NoReturn, Protocol, TypeVar

import click
from singer_sdk.exceptions import ConfigValidationError
from singer_sdk.plugin_base import SingerCommand

from connector_common.lines import exception_text, one_line
from connector_common.secret_values import scrubbed, secret_values

#: What ``--config ENV`` means to singer-sdk: settings from the environment, no file.
ENV_CONFIG = "ENV"
_JSON_KINDS = {list: "array", str: "string", int: "number", float: "number", bool: "boolean"}


class CommandLineError(Exception):
    """A problem with the command line itself (a ``--config`` file): its message is the line."""


@dataclass(frozen=True)
class CommandLine:
    """What one plugin's command line says when it ends early, and how it says it."""

    #: Prints one (already scrubbed, one-line) error line.
    say: Callable[[str], None]
    #: Started with stdout closed (``>&-``): where the output should go.
    stdout_closed: str
    #: stdout closed while running (broken pipe): what was kept, what to do.
    pipe_closed: str
    #: Exceptions whose message is the whole story: one line, exit 1, no traceback.
    plain_errors: tuple[type[BaseException], ...]
    #: The config schema: its ``secret`` settings are scrubbed from every line.
    config_schema: Mapping[str, Any]
    #: ``TAP_ENDORLABS``: the prefix of the plugin's setting variables.
    env_prefix: str
    #: setting -> another variable it falls back to (the tap's endorctl variables).
    fallback_env: Mapping[str, str] = field(default_factory=dict)

    def secrets(self, config: Mapping[str, Any] | None) -> list[str]:
        """The secret values given in ``config`` or in the environment."""
        return secret_values(config or {}, self.config_schema, self.env_prefix, self.fallback_env)

    def fail(self, message: str, secrets: Iterable[str] = ()) -> NoReturn:
        """Say ``message`` as one scrubbed line and exit 1."""
        self.say(one_line(scrubbed(message, secrets)))
        sys.exit(1)

    def explain(self, exc: BaseException) -> str | None:
        """The message for an expected failure, or None for one that deserves its traceback.

        Not yet one line: ``fail`` scrubs the secrets first, then collapses the whitespace
        (a secret holding a newline or two spaces would be missed the other way round).
        """
        if isinstance(exc, ConfigValidationError):
            # Every bad setting in one line, not the SDK's closing "Config validation failed";
            # the validator quotes the value it refused, which may be a secret (scrubbed by fail).
            problems = "; ".join(str(error) for error in exc.errors) or str(exc)
            return f"Invalid configuration: {problems}"
        if isinstance(exc, (CommandLineError, *self.plain_errors)):
            return exception_text(exc)
        return None

    @contextmanager
    def ending_in_one_line(self, config: Mapping[str, Any] | None) -> Iterator[None]:
        """Run the block; an expected failure ends the process with its one line."""
        try:
            yield
        except Exception as exc:
            text = self.explain(exc)
            if text is None:
                raise
            self.fail(text, self.secrets(config))


def stderr_line(prefix: str) -> Callable[[str], None]:
    """A ``say`` that writes ``<prefix><line>`` on stderr (the tap: its stdout is data)."""

    def say(line: str) -> None:
        sys.stderr.write(f"{prefix}{line}\n")
        sys.stderr.flush()

    return say


def logged_line(logger: logging.Logger) -> Callable[[str], None]:
    """A ``say`` that logs the line as an ERROR record (the target's other failures do)."""

    def say(line: str) -> None:
        logger.error("%s", line)

    return say


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

    #: What this plugin says (set by ``one_line_command``).
    command_line: CommandLine
    #: Secret values from ``--config`` and the environment, once ``--config`` is read.
    secrets: Sequence[str] = ()

    def main(  # type: ignore[override]
        self, args: Sequence[str] | None = None, prog_name: str | None = None, **extra: Any
    ) -> NoReturn:
        """Run the command; turn every expected failure into one line."""
        extra.pop("standalone_mode", None)
        line = self.command_line
        if sys.stdout is None:  # started with stdout closed (`>&-`)
            line.fail(line.stdout_closed)
        try:
            result = super().main(args, prog_name, standalone_mode=False, **extra)
        except click.ClickException as exc:
            # A bad flag or file argument: click's own words, without the usage block.
            line.say(one_line(scrubbed(exc.format_message(), self.secrets)))
            sys.exit(exc.exit_code)
        except click.Abort:
            line.fail("interrupted")
        except Exception as exc:  # raised in an option callback (--config, --discover, --test)
            text = line.explain(exc)
            if text is None:
                raise
            line.fail(text, self.secrets)
        sys.exit(result if isinstance(result, int) else 0)

    def invoke(self, ctx: click.Context) -> Any:
        """Run the plugin; a closed stdout is caught here, before click exits on it silently."""
        try:
            return super().invoke(ctx)
        except BrokenPipeError:
            detach_stdout()
            self.command_line.fail(self.command_line.pipe_closed)


def one_line_command(command: click.Command, command_line: CommandLine) -> click.Command:
    """The SDK's command as a ``OneLineCommand`` (same options, callbacks and logger)."""
    assert isinstance(command, SingerCommand)
    command.__class__ = OneLineCommand
    assert isinstance(command, OneLineCommand)
    command.command_line = command_line
    return command


class _GivenConfig(Protocol):
    config: dict[str, Any]
    parse_env: bool


ConfigT = TypeVar("ConfigT", bound=_GivenConfig)


def read_config(
    ctx: click.Context, values: Sequence[str], empty: Callable[[tuple[str, ...]], ConfigT]
) -> ConfigT:
    """``--config``: each file read once, checked to be a JSON object of settings, merged.

    The SDK merges the files with ``dict |=``: a file holding a JSON list or number
    ended in a traceback, a list of pairs was taken as settings, and an empty name
    raised ``RuntimeError``.  Each file is read here exactly once, so a pipe
    (``--config <(vault read ...)``, a secret never written to disk) works: read
    twice, its second read is empty.  ``empty`` is the SDK's own ``cb_config`` given
    no file (its config class, without naming that private class here); the merged
    settings and ``ENV`` are set on it as the SDK sets them.  The secrets read are
    remembered for the error lines of later callbacks.
    """
    given = empty(())
    for value in values:
        if value == ENV_CONFIG:
            given.parse_env = True
        else:
            given.config |= config_file_settings(value)
    if isinstance(ctx.command, OneLineCommand):
        ctx.command.secrets = ctx.command.command_line.secrets(given.config)
    return given


def config_file_settings(path: str) -> dict[str, Any]:
    """The settings in ``path``, read once (non-integers as ``Decimal``, as singer-sdk reads them).

    Raises:
        CommandLineError: ``path`` is empty, unreadable, not JSON or not a JSON object.
    """
    advice = "pass a JSON file of settings"
    if not path:
        msg = f"--config was given an empty file name: {advice}, or ENV for environment variables"
        raise CommandLineError(msg)
    try:
        settings = json.loads(Path(path).read_text(encoding="utf-8"), parse_float=Decimal)
    except OSError as exc:
        msg = f"--config could not be read ({path}: {exc.strerror or exc}): {advice}"
        raise CommandLineError(msg) from None
    except ValueError as exc:  # not JSON, or not UTF-8
        msg = f"--config could not be read ({path} is not JSON: {exc}): {advice}"
        raise CommandLineError(msg) from None
    if not isinstance(settings, dict):
        kind = _JSON_KINDS.get(type(settings), "null")
        msg = f"--config could not be read ({path} holds a JSON {kind}, not an object): {advice}"
        raise CommandLineError(msg)
    return settings
