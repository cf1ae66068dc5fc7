"""The Endor Labs tap: settings, streams, and one-line fatal errors on the CLI."""

from __future__ import annotations

import signal
import sys
from datetime import UTC, datetime, timedelta
from functools import partial
from types import FrameType
from typing import IO, Any, ClassVar, NoReturn

import click
from singer_sdk import Stream, Tap
from singer_sdk.plugin_base import PluginBase, _ConfigInput
from singer_sdk.tap_base import CliTestOptionValue
from typing_extensions import override

from connector_common.cli import (
    CommandLine,
    one_line_command,
    read_config,
    stderr_line,
)
from connector_common.settings_env import environment_settings
from connector_common.settings_hints import explained_settings
from connector_common.settings_text import numbers_from_text
from tap_endorlabs.api import EndorApi
from tap_endorlabs.auth import EndorAuthenticator
from tap_endorlabs.client import EndorStream
from tap_endorlabs.errors import STDOUT_CLOSED, TARGET_STOPPED, FatalTapError, StopRequested
from tap_endorlabs.filters import all_of, time_range
from tap_endorlabs.namespaces import list_namespaces
from tap_endorlabs.output import BufferedMsgSpecWriter
from tap_endorlabs.pagination import ListQuery
from tap_endorlabs.reconciliations_stream import ReconciliationsStream
from tap_endorlabs.retry import RetryPolicy
from tap_endorlabs.run_inputs import read_catalog, read_state
from tap_endorlabs.settings import (
    CONFIG_SCHEMA,
    ENDORCTL_ENV,
    check_settings,
    endorctl_env_fallbacks,
    unset,
)
from tap_endorlabs.streams import STREAM_TYPES


class TapEndorLabs(Tap):
    """Singer tap for the Endor Labs API (audit logs, scans, findings, projects)."""

    name = "tap-endorlabs"
    package_name = "endorlabs-s3-export"  # the distribution that carries both plugins
    config_jsonschema: ClassVar[dict] = CONFIG_SCHEMA
    # msgspec, no deep copy and no flush per record: see output.py.
    message_writer_class = BufferedMsgSpecWriter

    def __init__(self, *, config: dict | Any = None, **kwargs: Any) -> None:
        if config is None or isinstance(config, dict):
            # An explicit null or blank means "not set": endorctl's variable or the default
            # applies (``unset``); settings read from the environment: ``_validate_config``.
            given = {name: value for name, value in (config or {}).items() if not unset(value)}
            config = {**endorctl_env_fallbacks(), **given}
        with explained_settings(self, config, "TAP_ENDORLABS", FatalTapError):
            super().__init__(config=config, **kwargs)
            check_settings(self.config)
        self._authenticator: EndorAuthenticator | None = None
        self._api: EndorApi | None = None
        self._namespace_names: list[str] | None = None

    @property  # the SDK's is a classproperty, read once by __init__ on the instance
    def _env_var_config(self) -> dict[str, Any]:
        # --config=ENV: a yes/no or integer typo is one line, not "false" or a traceback.
        schema = self.config_jsonschema
        self.append_builtin_config(schema)
        return environment_settings(schema, self._env_var_prefix)

    @override
    def _validate_config(self, *, raise_errors: bool = True) -> list[str]:
        # Environment variables, .env and Meltano hand number settings over as text.
        numbers_from_text(self._config, self.config_jsonschema)
        # ``--config=ENV`` hands over an empty variable as "": not set, as in a file.
        fallbacks = endorctl_env_fallbacks()
        for name in [name for name, value in self._config.items() if unset(value)]:
            del self._config[name]
            if name in fallbacks:
                self._config[name] = fallbacks[name]
        return super()._validate_config(raise_errors=raise_errors)

    @property
    def authenticator(self) -> EndorAuthenticator:
        """The one token holder every stream shares (created on first use)."""
        if self._authenticator is None:
            self._authenticator = EndorAuthenticator(
                api_url=str(self.config["api_url"]),
                api_key=self.config.get("api_key"),
                api_secret=self.config.get("api_secret"),
                token=self.config.get("token"),
                timeout=float(self.config["request_timeout"]),
                verify=self.config.get("ssl_verify") is not False,
                retry=self.retry_policy,
            )
        return self._authenticator

    @property
    def api(self) -> EndorApi:
        """The one API client every stream, the preflight and the namespace listing share."""
        if self._api is None:
            self._api = EndorApi(
                api_url=str(self.config["api_url"]),
                authenticator=self.authenticator,
                request_timeout=int(self.config["request_timeout"]),
                user_agent=str(
                    self.config.get("user_agent") or f"{self.name}/{self.plugin_version}"
                ),
                verify=self.config.get("ssl_verify") is not False,
                max_concurrent_requests=int(self.config["max_concurrent_requests"]),
                logger=self.logger,
                retry=self.retry_policy,
            )
        return self._api

    @property
    def retry_policy(self) -> RetryPolicy:
        """How long every request kind is retried (``retry_budget_seconds``).

        Its waits end, and no attempt starts, once a signal asked the tap to stop
        (``stop_signal``), on whichever thread they run.
        """
        return RetryPolicy(
            budget_seconds=float(self.config["retry_budget_seconds"]),
            logger=self.logger,
            stopping=lambda: self.stop_signal,
        )

    def namespace_names(self) -> list[str]:
        """The tenant and every namespace under it, listed once per run.

        Raises:
            FatalTapError: when the key may not list the namespaces.
        """
        if self._namespace_names is None:
            self._namespace_names = list_namespaces(self.api, str(self.config["namespace"]))
        return self._namespace_names

    @override
    def discover_streams(self) -> list[Stream]:
        streams: list[Stream] = [stream_type(tap=self) for stream_type in STREAM_TYPES]
        return [*streams, ReconciliationsStream(tap=self)]

    def preflight(self) -> None:
        """Check credentials, namespace and filters with one-object queries.

        With include_child_namespaces the namespaces are listed here too, so a key
        that may not list them fails before any stream starts.

        Bad settings then fail before any stream starts, as one clear line,
        instead of surfacing mid-sync wrapped in the SDK's stream error logging.

        Raises:
            FatalTapError: when the API refuses the credentials, namespace or a filter.
        """
        streams = self.streams
        # A one-minute range keeps the probe cheap on a large tenant.
        recent = time_range("meta.create_time", datetime.now(UTC) - timedelta(minutes=1), None)
        # Each filter is probed on the resource it is sent to, by the stream whose
        # error message names it; the audit-log probe always runs (credentials).
        probes = [
            ("audit_logs", "audit-logs", True),
            ("findings", "findings", False),
            ("finding_logs", "finding-logs", False),
        ]
        for stream_name, resource, always in probes:
            stream = streams[stream_name]
            assert isinstance(stream, EndorStream)
            setting = stream.refused_filter_setting
            extra = self.config.get(setting) if setting else None
            if not (extra or always):
                continue
            query = ListQuery(
                path=f"/v1/namespaces/{stream.tenant}/{resource}",
                filter=all_of(recent, extra),
                page_size=1,
            )
            self.api.get_json(query.path, query.params(None), subject=stream.subject)
        if self.config.get("include_child_namespaces"):
            self.namespace_names()

    #: The termination signal received, if any; streams stop at the next record,
    #: and every retry, wait and read ahead at once (``RetryPolicy.stopping``).
    stop_signal: int | None = None

    @override
    def _handle_termination(self, signum: int, frame: FrameType | None) -> None:
        """Ask the streams to stop at the next record boundary; a second signal stops now.

        The SDK writes STATE from inside the handler, which can land in the middle
        of a record line being written, and then exits 0, so an orchestrator would
        take an interrupted export for a finished one.  The handler only sets a
        number (no lock: it runs between any two bytecodes of the main thread);
        retries and waits on every thread read it (``retry_policy``).
        """
        if self.stop_signal is not None:
            sys.exit(128 + signum)
        self.stop_signal = signum

    def stop_reading_ahead(self) -> None:
        """Stop every stream's namespaces read ahead (see ``EndorStream.partition_items``)."""
        for stream in self.streams.values():
            if isinstance(stream, EndorStream):
                stream.close_partitions_ahead()

    def stop_at_record_boundary(self, signum: int) -> None:
        """Write the state reached (a valid resume point), say so and exit 128+signal."""
        for stream in self.streams.values():
            if isinstance(stream, EndorStream):
                stream.save_bookmark()
        self._state_writer.write_state(self.state)
        sys.stdout.flush()
        self.exit_stopped(signum)

    @staticmethod
    def exit_stopped(
        signum: int, outcome: str = "the last state written resumes the export"
    ) -> NoReturn:
        """Say which signal stopped the tap, and what that leaves, and exit 128+signal."""
        name = signal.Signals(signum).name
        sys.stderr.write(f"tap-endorlabs: stopped by {name}; {outcome}\n")
        sys.stderr.flush()
        sys.exit(128 + signum)

    @classmethod
    def command_line(cls) -> CommandLine:
        """What the tap's command line says when it ends early (connector_common/cli.py)."""
        return CommandLine(
            say=stderr_line(f"{cls.name}: error: "),
            stdout_closed=STDOUT_CLOSED,
            pipe_closed=TARGET_STOPPED,
            plain_errors=(FatalTapError,),
            config_schema=cls.config_jsonschema,
            env_prefix="TAP_ENDORLABS",
            fallback_env=ENDORCTL_ENV,
        )

    @classmethod
    @override
    def cb_config(
        cls, ctx: click.Context, param: click.Option, value: tuple[str, ...]
    ) -> _ConfigInput:
        """A ``--config`` file that is missing or not a JSON object: one line, not a traceback."""
        return read_config(ctx, value, partial(super().cb_config, ctx, param))

    @classmethod
    @override
    def get_singer_command(cls) -> click.Command:
        """The SDK's command, ending every expected failure in one line."""
        return one_line_command(super().get_singer_command(), cls.command_line())

    @classmethod
    @override
    def cb_test(cls, ctx: click.Context, param: click.Option, value: str) -> None:
        """``--test``: the preflight checks, then one record of each stream.

        The SDK's version ends each stream with an ERROR line (its record limit
        aborts the stream) and says nothing when all is well.
        """
        if value == CliTestOptionValue.Disabled.value:
            return
        config: _ConfigInput = ctx.params.get("config", _ConfigInput())
        tap = cls(config=config.config, parse_env_config=config.parse_env, validate_config=True)
        if value == CliTestOptionValue.Schema.value:
            tap.write_schemas()
        else:
            try:
                tap.preflight()
                tap.run_connection_test()
            except StopRequested as stop:  # asked to stop while the API was retried
                tap.exit_stopped(stop.signum, "the connection test did not finish")
            cls.logger.info("Connection test passed: credentials, namespace and filters work")
        ctx.exit()

    @classmethod
    @override
    def invoke(  # type: ignore[override]
        cls,
        *,
        about: bool = False,
        about_format: str | None = None,
        config: _ConfigInput | None = None,
        state: IO[str] | None = None,
        catalog: IO[str] | None = None,
    ) -> None:
        """Run the tap (as ``Tap.invoke``, plus a preflight check).

        Fatal problems become one line on stderr and exit code 1, no traceback.
        """
        PluginBase.invoke.__func__(cls, about=about, about_format=about_format)  # type: ignore[attr-defined]
        config = config or _ConfigInput()
        with cls.command_line().ending_in_one_line(config.config):
            try:
                tap = cls(
                    config=config.config,
                    state=None if state is None else read_state(state),
                    catalog=None if catalog is None else read_catalog(catalog),
                    parse_env_config=config.parse_env,
                    validate_config=True,
                )
                tap.preflight()
                try:
                    tap.sync_all()
                finally:
                    # Whatever ended the run (a failure between namespaces, a closed
                    # pipe), no namespace read ahead is left running.
                    tap.stop_reading_ahead()
                if tap.stop_signal is not None:  # it came after the last record
                    raise StopRequested(tap.stop_signal)
            except StopRequested as stop:
                tap.stop_at_record_boundary(stop.signum)
