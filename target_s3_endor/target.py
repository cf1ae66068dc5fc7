"""The Singer target ``target-s3-endor``: wiring and the command line.

Records go to S3 in the layout Endor Labs' own exporter writes (``layouts/``);
``batching/`` decides objects, ``formats/`` bytes and ``storage/`` the S3
calls.  The settings are ``settings/``: the schema, the checks, and
``TargetSettings``, built once here and handed down.
``target-s3-endor --config c.json --test`` runs the connection test instead of
reading input.
"""

from __future__ import annotations

import sys
from functools import cached_property, partial
from typing import IO, Any

import click
from singer_sdk.exceptions import (
    MissingKeyPropertiesError,
    RecordsWithoutSchemaException,
)
from singer_sdk.singerlib.exceptions import InvalidInputLine
from singer_sdk.sinks import Sink
from typing_extensions import override

from connector_common.cli import CommandLine, logged_line, one_line_command, read_config
from connector_common.secret_values import scrubbed
from connector_common.settings_hints import explained_settings
from target_s3_endor.batching.proof import ProofWriter
from target_s3_endor.batching.proof_sink import ReconciliationSink
from target_s3_endor.batching.run import RunContext
from target_s3_endor.batching.sink import S3EndorSink, write_open_scans
from target_s3_endor.errors import (
    NO_ROOM_ERRNOS,
    STATE_UNREAD,
    STDOUT_CLOSED,
    BadInputError,
    SettingsError,
    TargetS3EndorError,
    no_room_line,
)
from target_s3_endor.formats.encoding import ObjectFormat
from target_s3_endor.input.handlers import ConfigInput, MessageHandlers
from target_s3_endor.input.reader import StrictLineReader
from target_s3_endor.layouts import endor
from target_s3_endor.layouts.base import Layout
from target_s3_endor.layouts.proof import RECONCILIATION_STREAM
from target_s3_endor.layouts.registry import LAYOUTS
from target_s3_endor.probe import run_probe
from target_s3_endor.settings.checks import check_settings, ignored_setting_lines
from target_s3_endor.settings.model import TargetSettings
from target_s3_endor.settings.schema import SETTINGS_SCHEMA
from target_s3_endor.storage.run_summary import RunSummary
from target_s3_endor.storage.transport import S3Writer
from target_s3_endor.storage.upload_pool import UploadPool
from target_s3_endor.version import DISTRIBUTION, package_version

# Errors that end the run with one line and exit status 1, never a traceback.
PLAIN_ERRORS = (
    TargetS3EndorError,
    RecordsWithoutSchemaException,
    InvalidInputLine,
    MissingKeyPropertiesError,
)


class TargetS3Endor(MessageHandlers):
    """Writes Singer streams to S3 in Endor Labs' export layout."""

    name = "target-s3-endor"
    package_name = DISTRIBUTION  # the distribution that carries both plugins
    default_sink_class = S3EndorSink
    message_reader_class = StrictLineReader

    config_jsonschema = SETTINGS_SCHEMA  # settings/schema.py
    #: The settings, typed and with defaults applied: built once, after the checks pass.
    settings: TargetSettings

    def __init__(self, **kwargs: Any) -> None:
        with explained_settings(self, kwargs.get("config"), "TARGET_S3_ENDOR", SettingsError):
            super().__init__(**kwargs)
            check_settings(self.config)
            self.settings = TargetSettings.from_config(self.config)
        for line in ignored_setting_lines(self.config):  # format under security-lake, ...
            self.logger.warning("%s", line)
        self.drain_at_record_age(self.settings.batch_max_age_seconds)
        if isinstance(self.message_reader, StrictLineReader):
            self.message_reader.max_line_bytes = self.settings.max_line_bytes
            self.message_reader.on_stopped = self.end_run  # a run ended by an error or signal
        # Drain sinks one after another, not on the SDK's 8 threads: sinks share the
        # batch sequence and the compressor's bookkeeping, and when an upload fails
        # its error must be the last line, not followed by another sink's drain.
        self.max_parallelism = 1

    @cached_property
    def run(self) -> RunContext:
        """What every sink shares: key root, formats, scans, writer (SinkHost, run.py)."""
        settings = self.settings
        fmt, compression = settings.format, settings.compression
        context = RunContext(
            root=endor.exporter_root(settings),
            findings_format=ObjectFormat(fmt, compression),
            other_format=ObjectFormat("json" if fmt == "sarif" else fmt, compression),
            tool_version=package_version(),
            writer=self.s3_writer,
            settings=settings,
            uploads=UploadPool(settings.max_concurrent_uploads),
        )
        context.on_object_written(self.run_summary.wrote)
        # The completeness proof: told each record's pending object, and each object written.
        self._proof_writer = ProofWriter(
            self.s3_writer.put, self._proof_root, context.next_batch_id
        )
        context.count_for_proof = self._proof_writer.count
        context.on_object_written(self._proof_writer.wrote)
        return context

    @property
    def proof_writer(self) -> ProofWriter:
        """The completeness proof: windows and the objects holding them (batching/proof.py)."""
        _ = self.run  # built with the run
        return self._proof_writer

    @cached_property
    def layout(self) -> Layout:
        """The ``layout`` setting's Layout: its sink and where its own objects go (layouts/)."""
        return LAYOUTS[self.settings.layout]

    def _proof_root(self, stream: str) -> str:
        """Where a stream's proofs go: the exporter root, or its Security Lake source."""
        return self.layout.proof_root(self.settings, self.run.root, stream)

    def _write_proofs(self) -> None:
        """Put the proof of every window whose objects are all in S3 (before a STATE)."""
        self.run.wait_for_uploads()  # objects in flight are durable, and attributed, first
        for key in self.proof_writer.flush():
            self.logger.info("Wrote the reconciliation proof s3://%s/%s", self.settings.bucket, key)

    @override
    def get_sink_class(self, stream_name: str) -> type[Sink]:
        """The sink of a stream: by layout, or the proof's for ``reconciliations``.

        layout: security-lake has its own sink (Parquet per source and day); a
        tap's ``reconciliations`` close windows (batching/proof_sink.py), they are not data.
        """
        if stream_name == RECONCILIATION_STREAM:
            return ReconciliationSink
        # Imported on first use: only security-lake needs the Parquet writer and OCSF
        # mapping, and every other run (and --about) starts without them (issue 23).
        return self.layout.sink_class()

    @cached_property
    def run_summary(self) -> RunSummary:
        """What this run wrote, logged at the end of the input (run_summary.py)."""
        return RunSummary(root=endor.exporter_root(self.settings))

    #: Whether the input has ended, so the next state written is the last.
    _input_ended = False

    def _write_manifest(self, state: dict | None) -> None:
        """The run manifest(s), once, where the layout's writer may put them."""
        if not self.settings.run_manifest or self.run_summary.manifests_written:
            return
        self.run.wait_for_uploads()  # the manifest lists every object, all of them in S3
        # Endor: one under the exporter root, even for a run that wrote nothing; Security
        # Lake: one per source written, under ext/<source>/ (a run that wrote nothing: none).
        layout, root = self.layout, self.run.root
        self.run_summary.write_manifests(
            self.s3_writer.put,
            state,
            lambda key: layout.manifest_folder(root, key),
            layout.empty_run_manifest_folder(root),
        )

    @cached_property
    def s3_writer(self) -> S3Writer:
        """One S3 client for all sinks (boto3 clients are thread-safe)."""
        return S3Writer(self.settings)

    @override
    def emit_state(self, state: Any) -> None:
        """Print the newest state that covers no finding of a scan still open (see sinks.py).

        At the end of the input, or when a signal stops the target, the run
        manifest goes up after the last object and before that final state.
        """
        # Every object handed over so far (drains, scans finished) is in S3 before any state.
        self.run.wait_for_uploads()
        printable = self.run.scans.printable_state(state)
        if printable is None:
            return
        self._write_proofs()  # the windows the state covers are proven before it goes out
        if self._input_ended or self.stop_signal is not None:
            self._write_manifest(printable)
        self.print_state(printable)
        self.run_summary.state = printable

    @override
    def write_waiting_objects(self) -> None:
        """At the end of the input (or a stop): the scans still open, as they stand."""
        write_open_scans(self.run, self.logger)

    def end_run(self) -> None:
        """Stop the run's upload and compression threads, if it started any (RunContext.end).

        Called once nothing more is written: after the last drain and state at the end of
        the input (``process_endofpipe``), or when reading stops on an error or a stop by
        signal (the reader's ``on_stopped``).  So when state is emitted is unchanged; the
        pools otherwise idle until the process exits, which an in-process run never does.
        """
        if "run" in self.__dict__:  # the cached RunContext: built at its first use only
            self.run.end()

    @override
    def process_endofpipe(self) -> None:
        try:
            self._end_of_input()
        finally:
            self.end_run()  # after the last drain, its state, proofs and manifest

    def _end_of_input(self) -> None:
        """Write what waits, drain, print the last state; then proofs, manifest, summary."""
        self._input_ended = True
        self.write_waiting_objects()
        super().process_endofpipe()
        self.run.scans.close(self.logger)
        self._write_proofs()  # windows closed after the last state
        self._write_manifest(self.run_summary.state)  # when no state was printed at the end
        self.run_summary.log(self.logger)
        proof = self.proof_writer
        if proof.windows_written:
            self.logger.info(
                "Reconciliation proof: %d windows in %d objects under _reconciliation/",
                proof.windows_written,
                len(proof.keys),
            )
        ended_mid_message = getattr(self.message_reader, "ended_mid_message", None)
        if ended_mid_message:  # everything whole is written and its state printed: now say it
            raise BadInputError(ended_mid_message)

    @classmethod
    def command_line(cls) -> CommandLine:
        """What the target's command line says when it ends early (connector_common/cli.py)."""
        return CommandLine(
            say=logged_line(cls.logger),
            stdout_closed=STDOUT_CLOSED,
            pipe_closed=STATE_UNREAD,
            plain_errors=PLAIN_ERRORS,
            config_schema=cls.config_jsonschema,
            env_prefix="TARGET_S3_ENDOR",
        )

    @classmethod
    @override
    def cb_config(
        cls, ctx: click.Context, param: click.Option, value: tuple[str, ...]
    ) -> ConfigInput:
        """A ``--config`` file that is missing or not a JSON object: one line, not a traceback."""
        return read_config(ctx, value, partial(super().cb_config, ctx, param))

    @classmethod
    @override
    def invoke(  # type: ignore[override]
        cls,
        *,
        about: bool = False,
        about_format: str | None = None,
        config: ConfigInput | None = None,
        file_input: IO[str] | None = None,
        test: bool = False,
        verify: bool = False,
    ) -> None:
        """Run the target (or the connection test, or --verify); failures end in one line."""
        with cls.command_line().ending_in_one_line(config.config if config else None):
            try:
                if test and verify:
                    raise SettingsError("--test and --verify are two commands: pass one of them")
                if test:
                    cls._run_connection_test(config or ConfigInput())
                    return
                if verify:
                    cls._run_verify(config or ConfigInput())
                    return
                super().invoke(
                    about=about, about_format=about_format, config=config, file_input=file_input
                )
            except OSError as exc:
                if exc.errno not in NO_ROOM_ERRNOS:
                    raise
                spool_dir = config.config.get("spool_dir") if config and config.config else None
                cls.logger.error("%s", no_room_line(exc, spool_dir))
                sys.exit(1)

    @classmethod
    def _secrets_given(cls, config: ConfigInput | None) -> list[str]:
        return cls.command_line().secrets(config.config if config else None)

    @classmethod
    def _run_connection_test(cls, config: ConfigInput) -> None:
        target = cls(config=config.config, validate_config=True, parse_env_config=config.parse_env)
        result = run_probe(target.settings)
        click.echo(scrubbed(result.message, cls._secrets_given(config)))
        sys.exit(0 if result.ok else 1)

    @classmethod
    def _run_verify(cls, config: ConfigInput) -> None:
        """Check the bucket against its completeness proof (target_s3_endor/verify/)."""
        # Imported here: a plain run never loads the checker (nor its ijson dependency).
        from target_s3_endor.verify import verify  # noqa: PLC0415

        target = cls(config=config.config, validate_config=True, parse_env_config=config.parse_env)
        sys.exit(verify(target.settings, cls.logger))

    @classmethod
    @override
    def get_singer_command(cls) -> click.Command:
        """Add ``--test`` (the connection test) and ``--verify`` (the completeness check)."""
        command = one_line_command(super().get_singer_command(), cls.command_line())
        command.params.append(
            click.Option(
                ["--test"],
                is_flag=True,
                help="Write a small probe object and report whether S3 access works.",
            )
        )
        command.params.append(
            click.Option(
                ["--verify"],
                is_flag=True,
                help=(
                    "Check the bucket against the reconciliation proof the target wrote: print "
                    "expected, found and missing records per stream, namespace and day; exit 1 "
                    "on any gap. Needs only s3:ListBucket and s3:GetObject."
                ),
            )
        )
        return command


__all__ = ["TargetS3Endor"]
