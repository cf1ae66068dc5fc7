"""The Singer target ``target-s3-endor``: settings, checks and the command line.

Records go to S3 in the layout Endor Labs' own exporter writes (see
``layouts/endor.py``); ``sinks.py`` decides objects, ``encoding.py`` bytes and
``transport.py`` the S3 calls.  ``target-s3-endor --config c.json --test`` runs
the connection test instead of reading input.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from functools import cached_property, partial
from typing import IO, Any

import click
from singer_sdk import typing as th
from singer_sdk.exceptions import (
    ConfigValidationError,
    MissingKeyPropertiesError,
    RecordsWithoutSchemaException,
)
from singer_sdk.singerlib.exceptions import InvalidInputLine
from singer_sdk.sinks import Sink
from typing_extensions import override

from connector_common.cli import CommandLine, logged_line, one_line_command, read_config
from connector_common.lines import exception_line
from connector_common.secret_values import scrubbed
from connector_common.settings_hints import (
    known_settings,
    misspelled,
    unset_hints,
    warning_text,
    what_to_do,
)
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
from target_s3_endor.formats.encoding import (
    COMPRESSIONS,
    DEFAULT_COMPRESSION_LEVEL,
    FORMATS,
    ObjectFormat,
)
from target_s3_endor.input.handlers import ConfigInput, MessageHandlers
from target_s3_endor.input.lines import DEFAULT_MAX_LINE_BYTES
from target_s3_endor.input.reader import StrictLineReader
from target_s3_endor.layouts import endor
from target_s3_endor.layouts.base import Layout
from target_s3_endor.layouts.proof import RECONCILIATION_STREAM
from target_s3_endor.layouts.registry import LAYOUTS, layout_of
from target_s3_endor.probe import run_probe
from target_s3_endor.settings.limits import check_limits
from target_s3_endor.storage.endpoints import check_endpoints
from target_s3_endor.storage.retry import DEFAULT_MAX_RETRY_SECONDS
from target_s3_endor.storage.run_summary import RunSummary
from target_s3_endor.storage.transport import S3Writer
from target_s3_endor.storage.upload_pool import DEFAULT_MAX_CONCURRENT_UPLOADS, UploadPool
from target_s3_endor.version import DISTRIBUTION, package_version

MIB = 1 << 20
#: More concurrent uploads than this gain nothing on 2 cores and only hold files open.
MAX_UPLOADS = 64
# Errors that end the run with one line and exit status 1, never a traceback.
PLAIN_ERRORS = (
    TargetS3EndorError,
    RecordsWithoutSchemaException,
    InvalidInputLine,
    MissingKeyPropertiesError,
)


def check_settings(config: dict[str, Any]) -> None:
    """Reject setting combinations the schema cannot express, naming the setting."""
    if bool(config.get("aws_access_key_id")) != bool(config.get("aws_secret_access_key")):
        msg = "aws_access_key_id and aws_secret_access_key must be set together"
        raise SettingsError(msg)
    if config.get("external_id") and not config.get("role_arn"):
        raise SettingsError("external_id needs role_arn (the role to assume)")
    if config.get("web_identity_token_file") and not config.get("role_arn"):
        raise SettingsError("web_identity_token_file needs role_arn (the role to assume)")
    if config.get("sse_kms_key_id") and config.get("server_side_encryption") != "aws:kms":
        raise SettingsError("sse_kms_key_id needs server_side_encryption: aws:kms")
    if config.get("format", "json") not in FORMATS:
        raise SettingsError(f"format must be one of {', '.join(FORMATS)}")
    if config.get("compression", "zip") not in COMPRESSIONS:
        raise SettingsError(f"compression must be one of {', '.join(COMPRESSIONS)}")
    compression_level(config)
    max_concurrent_uploads(config)
    check_limits(config)  # each setting against the S3/STS limit it names
    check_endpoints(config)  # no userinfo, no plain-http STS (endpoints.py)
    layout_of(config).check(config)  # the layout's own rules (layouts/registry.py)


def max_concurrent_uploads(config: Mapping[str, Any]) -> int:
    """How many objects may be uploading at once (``storage/upload_pool.py``)."""
    value = config.get("max_concurrent_uploads", DEFAULT_MAX_CONCURRENT_UPLOADS)
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_UPLOADS:
        msg = (
            f"max_concurrent_uploads must be a whole number from 1 (one upload after another) "
            f"to {MAX_UPLOADS}"
        )
        raise SettingsError(msg)
    return value


def compression_level(config: Mapping[str, Any]) -> int:
    """The zlib level for zip and gzip objects, checked to be one zlib accepts."""
    level = config.get("compression_level", DEFAULT_COMPRESSION_LEVEL)
    if isinstance(level, bool) or not isinstance(level, int) or not 1 <= level <= 9:
        msg = "compression_level must be a whole number from 1 (fastest) to 9 (smallest)"
        raise SettingsError(msg)
    return level


class TargetS3Endor(MessageHandlers):
    """Writes Singer streams to S3 in Endor Labs' export layout."""

    name = "target-s3-endor"
    package_name = DISTRIBUTION  # the distribution that carries both plugins
    default_sink_class = S3EndorSink
    message_reader_class = StrictLineReader

    config_jsonschema = th.PropertiesList(
        th.Property(
            "bucket",
            th.StringType,
            required=True,
            description=(
                "The S3 bucket to write to, its name alone (3-63 lowercase letters, digits, dots "
                "and hyphens); only s3:PutObject on prefix/* is needed."
            ),
        ),
        th.Property(
            "region",
            th.StringType,
            description=(
                "The bucket's AWS region, e.g. us-east-1 (with endpoint_url: the store's own "
                "name, e.g. auto); default: the credential chain's region."
            ),
        ),
        th.Property(
            "endpoint_url",
            th.StringType,
            description=(
                "http(s) URL of an S3-compatible endpoint (MinIO, a local server); leave unset "
                "for AWS."
            ),
        ),
        th.Property(
            "prefix",
            th.StringType,
            default="endor",
            description=(
                "First segment(s) of every key, as in Endor Labs' own exporter. With the exporter "
                f"segment at most {endor.MAX_ROOT_BYTES} bytes, so every key stays within S3's "
                f"{endor.MAX_KEY_BYTES}."
            ),
        ),
        th.Property(
            "exporter_name",
            th.StringType,
            default="s3-exporter",
            description="Name in the second key segment `<exporter_uuid>-<exporter_name>`.",
        ),
        th.Property(
            "exporter_uuid",
            th.StringType,
            description=(
                "Uuid in the second key segment; default: derived stably from exporter_name "
                "(uuid5)."
            ),
        ),
        th.Property(
            "format",
            th.StringType,
            default="json",
            allowed_values=list(FORMATS),
            description=(
                "Member encoding: json (one array), jsonl (one record a line), sarif (SARIF "
                "2.1.0 for findings; other streams are written as json) or ocsf (OCSF 1.3.0 "
                "events, one a line, for audit and authentication logs, findings and finding "
                "logs; other streams are written as json)."
            ),
        ),
        th.Property(
            "compression",
            th.StringType,
            default="zip",
            allowed_values=list(COMPRESSIONS),
            description=(
                "Object container: zip (one member, as Endor Labs writes), gzip (for SIEMs that "
                "read only .gz) or none."
            ),
        ),
        th.Property(
            "compression_level",
            th.IntegerType,
            default=DEFAULT_COMPRESSION_LEVEL,
            description=(
                "How hard zip and gzip compress, from 1 (fastest) to 9 (smallest). The default 3 "
                "compresses about twice as fast as zlib's usual 6 for objects about 17% larger; "
                "compression runs on a second core while records arrive."
            ),
        ),
        th.Property(
            "batch_max_records",
            th.IntegerType,
            default=10_000,
            description="Upload a stream's batch once it holds this many records (at least 1).",
        ),
        th.Property(
            "batch_max_bytes",
            th.IntegerType,
            default=64 * MIB,
            description=(
                "Upload a stream's batch once its spooled (uncompressed) bytes reach this; "
                "batches are spooled to disk, so memory does not grow with it. At most 5 TiB "
                "(S3's largest object) and 10,000 multipart parts."
            ),
        ),
        th.Property(
            "max_concurrent_uploads",
            th.IntegerType,
            default=DEFAULT_MAX_CONCURRENT_UPLOADS,
            description=(
                "How many objects are uploaded at once, 1 to 64. State still goes out only once "
                "every object before it is in S3. Objects in flight are files on disk; memory "
                "grows only by one multipart part per upload above multipart_threshold_bytes."
            ),
        ),
        th.Property(
            "batch_max_age_seconds",
            th.NumberType,
            default=300,
            description=(
                "Upload every batch, and emit state, once the oldest buffered record is this many"
                " seconds old (checked when a record arrives; 0: after every record)."
            ),
        ),
        th.Property(
            "aws_access_key_id",
            th.StringType,
            secret=True,
            description="Static AWS access key id; default: the AWS credential chain.",
        ),
        th.Property(
            "aws_secret_access_key",
            th.StringType,
            secret=True,
            description="Secret key that goes with aws_access_key_id.",
        ),
        th.Property(
            "aws_session_token",
            th.StringType,
            secret=True,
            description="Session token for temporary static credentials.",
        ),
        th.Property(
            "aws_profile",
            th.StringType,
            description="Named profile from ~/.aws/config to take credentials from.",
        ),
        th.Property(
            "role_arn",
            th.StringType,
            description=(
                "IAM role to assume: with external_id (sts:AssumeRole) or with "
                "web_identity_token_file (OIDC)."
            ),
        ),
        th.Property(
            "external_id",
            th.StringType,
            secret=True,
            description="External id the role's trust policy requires (sts:ExternalId).",
        ),
        th.Property(
            "web_identity_token_file",
            th.StringType,
            description=(
                "File holding an OIDC token; role_arn is then assumed by "
                "sts:AssumeRoleWithWebIdentity (re-read on refresh)."
            ),
        ),
        th.Property(
            "sts_endpoint_url",
            th.StringType,
            description="URL of a non-default STS endpoint (regional STS, a local server).",
        ),
        th.Property(
            "role_duration_seconds",
            th.IntegerType,
            default=3600,
            description=(
                "Lifetime of assumed-role sessions, 900 to 43200 (STS; at most the role's maximum "
                "session duration); they are refreshed before they expire."
            ),
        ),
        th.Property(
            "server_side_encryption",
            th.StringType,
            allowed_values=["AES256", "aws:kms"],
            description=(
                "Server-side encryption of every object: AES256 (SSE-S3) or aws:kms (SSE-KMS)."
            ),
        ),
        th.Property(
            "sse_kms_key_id",
            th.StringType,
            description=(
                "KMS key id, key ARN, alias/name or alias ARN for aws:kms; default: the bucket's "
                "AWS-managed key."
            ),
        ),
        th.Property(
            "storage_class",
            th.StringType,
            description=(
                "S3 storage class of every object (one botocore's S3 model knows), e.g. "
                "STANDARD_IA or GLACIER_IR; default: STANDARD."
            ),
        ),
        th.Property(
            "multipart_threshold_bytes",
            th.IntegerType,
            default=64 * MIB,
            description=(
                "Objects larger than this many bytes go up as multipart uploads (at most 5 GiB, "
                "S3's largest single PutObject)."
            ),
        ),
        th.Property(
            "multipart_part_size_bytes",
            th.IntegerType,
            default=16 * MIB,
            description=(
                "Bytes per multipart part: 5 MiB to 5 GiB (S3's limits; at most 10,000 parts, "
                "so the largest object is 10,000 times this)."
            ),
        ),
        th.Property(
            "max_attempts",
            th.IntegerType,
            default=5,
            description=(
                "Attempts per S3 request (at least 1), with exponential backoff, before the target"
                " stops with an error."
            ),
        ),
        th.Property(
            "max_retry_seconds",
            th.IntegerType,
            default=DEFAULT_MAX_RETRY_SECONDS,
            description=(
                "How long an upload that keeps failing for a passing reason (connection refused"
                " or reset, time-out, HTTP 5xx, throttling, clock skew) is retried, pausing up to"
                " 15 s between tries, before the target stops with one line (0: only the"
                " max_attempts tries)."
            ),
        ),
        th.Property(
            "request_checksum_calculation",
            th.StringType,
            allowed_values=["when_supported", "when_required"],
            description=(
                "botocore's setting: when_supported sends a SHA-256 checksum with every upload; "
                "when_required sends Content-MD5 instead, for S3-compatible stores that refuse "
                "flexible checksums (older MinIO, Backblaze B2, Ceph RGW). Default: "
                "when_supported on AWS, when_required with endpoint_url."
            ),
        ),
        th.Property(
            "response_checksum_validation",
            th.StringType,
            allowed_values=["when_supported", "when_required"],
            description=(
                "botocore's setting for checking checksums of S3's answers. Default: "
                "when_supported on AWS, when_required with endpoint_url."
            ),
        ),
        th.Property(
            "connect_timeout_seconds",
            th.NumberType,
            default=10,
            description="Seconds to wait for a connection to S3 (more than 0).",
        ),
        th.Property(
            "read_timeout_seconds",
            th.NumberType,
            default=120,
            description="Seconds to wait for S3 to answer a request (more than 0).",
        ),
        th.Property(
            "ssl_verify",
            th.BooleanType,
            default=True,
            description=(
                "Whether to verify the TLS certificate of S3 and STS. Turn off only for a test "
                "endpoint with a self-signed certificate."
            ),
        ),
        # layout: security-lake (security_lake.py, parquet.py)
        th.Property(
            "layout",
            th.StringType,
            default="endor",
            allowed_values=list(LAYOUTS),
            description=(
                "Key layout: endor (Endor Labs' exporter folders) or security-lake (OCSF 1.3.0 "
                "events as zstd Parquet under ext/<source>/region=<region>/accountId=<account>/"
                "eventDay=<YYYYMMDD>/ for an Amazon Security Lake custom source; format, "
                "compression and prefix do not apply; needs the security-lake extra)."
            ),
        ),
        th.Property(
            "security_lake_account_id",
            th.StringType,
            description=(
                "The 12-digit AWS account id in Security Lake keys (accountId=); required with "
                "layout: security-lake."
            ),
        ),
        th.Property(
            "security_lake_source_names",
            th.ObjectType(additional_properties=th.StringType),
            description=(
                "Security Lake custom source name per stream (one OCSF class per source): keys "
                "audit_logs, authentication_logs, findings.vulnerability_finding, "
                "findings.detection_finding, finding_logs.vulnerability_finding, "
                "finding_logs.detection_finding; default: endorlabs-audit-logs, "
                "endorlabs-authentication-logs, endorlabs-vulnerability-findings, "
                "endorlabs-detection-findings, endorlabs-vulnerability-finding-logs, "
                "endorlabs-detection-finding-logs."
            ),
        ),
        th.Property(
            "run_manifest",
            th.BooleanType,
            default=False,
            description=(
                "Whether to write, at the end of each run and before its final state, a JSON "
                "manifest listing every key the run wrote, under {prefix}/{exporter}/_manifests/ "
                "(for downstream loaders that read manifests)."
            ),
        ),
        th.Property(
            "max_line_bytes",
            th.IntegerType,
            default=DEFAULT_MAX_LINE_BYTES,
            description=(
                "Longest input line (one Singer message) accepted, in bytes; a longer one stops "
                "the run with a line naming its stream. Memory for a line is about five times "
                "its size."
            ),
        ),
        th.Property(
            "spool_dir",
            th.StringType,
            description=(
                "Existing writable directory for the batch spool files; default: the system "
                "temporary directory."
            ),
        ),
    ).to_dict()

    def __init__(self, **kwargs: Any) -> None:
        given = kwargs.get("config")
        given = given if isinstance(given, dict) else {}
        hints = misspelled(given, known_settings(type(self)))
        for name, nearest in hints.items():
            self.logger.warning("%s", warning_text(name, nearest))
        try:
            super().__init__(**kwargs)
            check_settings(dict(self.config))
        except SettingsError as exc:
            if hint := unset_hints(hints, given, str(exc)):
                raise SettingsError(f"{_one_line(exc)} ({hint})") from None
            raise
        except ConfigValidationError as exc:
            errors = what_to_do(exc.errors, "TARGET_S3_ENDOR")
            if hint := unset_hints(hints, given, " ".join(exc.errors)):
                errors.append(hint)
            raise ConfigValidationError(str(exc), errors=errors, schema=exc.schema) from None
        if isinstance(self.message_reader, StrictLineReader):
            limit = self.config.get("max_line_bytes") or DEFAULT_MAX_LINE_BYTES
            self.message_reader.max_line_bytes = int(limit)
        # Drain sinks one after another, not on the SDK's 8 threads: sinks share the
        # batch sequence and the compressor's bookkeeping, and when an upload fails
        # its error must be the last line, not followed by another sink's drain.
        self.max_parallelism = 1

    @cached_property
    def run(self) -> RunContext:
        """What every sink shares: key root, formats, scans, writer (SinkHost, run.py)."""
        fmt = str(self.config.get("format", "json"))
        compression = str(self.config.get("compression", "zip"))
        context = RunContext(
            root=endor.exporter_root(self.config),
            findings_format=ObjectFormat(fmt, compression),
            other_format=ObjectFormat("json" if fmt == "sarif" else fmt, compression),
            spool_dir=self.config.get("spool_dir") or None,
            max_bytes=int(self.config.get("batch_max_bytes") or 64 * MIB),
            tool_version=package_version(),
            writer=self.s3_writer,
            compression_level=compression_level(self.config),
            uploads=UploadPool(max_concurrent_uploads(self.config)),
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
        return layout_of(self.config)

    def _proof_root(self, stream: str) -> str:
        """Where a stream's proofs go: the exporter root, or its Security Lake source."""
        return self.layout.proof_root(self.config, self.run.root, stream)

    def _write_proofs(self) -> None:
        """Put the proof of every window whose objects are all in S3 (before a STATE)."""
        self.run.wait_for_uploads()  # objects in flight are durable, and attributed, first
        for key in self.proof_writer.flush():
            bucket = self.config["bucket"]
            self.logger.info("Wrote the reconciliation proof s3://%s/%s", bucket, key)

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
        return RunSummary(root=endor.exporter_root(self.config))

    #: Whether the input has ended, so the next state written is the last.
    _input_ended = False

    def _write_manifest(self, state: dict | None) -> None:
        """The run manifest(s), once, where the layout's writer may put them."""
        if not self.config.get("run_manifest") or self.run_summary.manifests_written:
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
        return S3Writer(self.config)

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

    @override
    def process_endofpipe(self) -> None:
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
        return read_config(ctx, value, partial(super().cb_config, ctx, param, value))

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
        result = run_probe(target.config)
        click.echo(scrubbed(result.message, cls._secrets_given(config)))
        sys.exit(0 if result.ok else 1)

    @classmethod
    def _run_verify(cls, config: ConfigInput) -> None:
        """Check the bucket against its completeness proof (target_s3_endor/verify/)."""
        # Imported here: a plain run never loads the checker (nor its ijson dependency).
        from target_s3_endor.verify import verify  # noqa: PLC0415

        target = cls(config=config.config, validate_config=True, parse_env_config=config.parse_env)
        sys.exit(verify(target.config, cls.logger))

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


def _one_line(exc: BaseException) -> str:
    return exception_line(exc)


__all__ = ["TargetS3Endor"]
