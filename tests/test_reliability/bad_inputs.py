"""The catalogue of bad inputs: what each one is, and the one line it must produce.

Each case names the plugin, how its config/state/input differ from a good run,
the exit code and a fragment the single error line must contain.  Cases with
exit code 0 are bad-but-acceptable input (hostile names, missing layout fields,
a huge record): the run must succeed and keep every key under the prefix.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tests.test_reliability.singer_lines import AUDIT_SCHEMA, audit_record, state_message

FINDINGS_SCHEMA = {
    "type": "SCHEMA",
    "stream": "findings",
    "key_properties": ["uuid"],
    "schema": {"type": "object", "properties": {"uuid": {"type": "string"}}},
}
LONG = "x" * 2000
HOSTILE_NAMES = ["../../etc", "/", "a/../../b", "ctl\x00\x07\x1b[31m\n", "ünïcødé-名前-🚀", LONG]


@dataclass(frozen=True)
class BadInput:
    """One bad input and what must come of it."""

    name: str
    plugin: str  # "tap" or "target"
    says: str  # the one error line holds this ("..." stands for any text; empty: success)
    exit_code: int = 1
    config: dict[str, Any] = field(default_factory=dict)  # merged into the good config
    drop: tuple[str, ...] = ()  # settings removed from the good config
    state: str | None = None  # tap: raw --state file text
    lines: bytes = b""  # target: raw input
    config_text: str | None = None  # the --config file's text instead of the good config
    hides: str = ""  # a value of the input that must not appear on stderr
    args: tuple[str, ...] = ()  # command-line arguments after --config (a file name may
    # start with "@", meaning a file of that name in the case's folder holding `files[name]`)
    files: dict[str, str] = field(default_factory=dict)  # extra files for args
    closed: str = ""  # "stdin" or "stdout": started with that stream closed;
    # "pipe": stdout is a pipe the reader closes after the first bytes (a dead target)
    no_config: bool = False  # run without --config
    logs: str = ""  # a fragment stderr must hold (a warning, the bookmark a run starts from)


def _lines(*messages: Any) -> bytes:
    return b"".join(
        (m if isinstance(m, bytes) else json.dumps(m).encode()) + b"\n" for m in messages
    )


def _finding(number: int, **context: Any) -> dict[str, Any]:
    scan_context = {
        "scan_uuid": f"scan-{number}",
        "scan_time": "2025-03-01T10:00:00Z",
        "scan_type": "schedule",
        "ref": "main",
        "project_uuid": "proj-1",
        "project_name": "https://github.com/acme/app.git",
        "namespace": "acme",
        "last": True,
        **context,
    }
    return {
        "type": "RECORD",
        "stream": "findings",
        "record": {"uuid": f"finding-{number}", "scan_context": scan_context},
    }


def _hostile_findings() -> bytes:
    messages: list[Any] = [FINDINGS_SCHEMA]
    for index, name in enumerate(HOSTILE_NAMES):
        messages.append(_finding(3 * index, namespace=name))
        messages.append(_finding(3 * index + 1, project_name=name, project_uuid=name))
        messages.append(_finding(3 * index + 2, ref=name))
    return _lines(*messages, state_message(1))


def _hostile_audit_namespaces() -> bytes:
    return _lines(
        AUDIT_SCHEMA,
        *(audit_record(index, namespace=name) for index, name in enumerate(HOSTILE_NAMES)),
        state_message(1),
    )


DATA_FILES = Path(__file__).resolve().parents[1] / "data_files"
OPEN_SCHEMA = {"type": "SCHEMA", "stream": "events", "schema": {"type": "object"}}


def _activate(**fields: Any) -> dict[str, Any]:
    return {"type": "ACTIVATE_VERSION", "stream": "audit_logs", "version": 7, **fields}


def _batch(*files: str, **fields: Any) -> dict[str, Any]:
    """A BATCH message for audit_logs naming files of tests/data_files (or any URL)."""
    urls = [name if ":" in name else (DATA_FILES / name).as_uri() for name in files]
    message = {
        "type": "BATCH",
        "stream": "audit_logs",
        "encoding": {"format": "jsonl", "compression": "none"},
        "manifest": urls,
    }
    return {**message, **fields}


def _nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


def _nested_record(depth: int) -> bytes:
    """An audit log RECORD whose ``deep`` field is ``depth`` arrays deep."""
    message = json.dumps(audit_record(1)).encode()
    return message[:-2] + b', "deep": ' + _nested(depth) + b"}}"


def _without(message: dict[str, Any], key: str) -> dict[str, Any]:
    return {name: value for name, value in message.items() if name != key}


RECENT = (datetime.now(UTC) - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
STATE_AS_MESSAGE = json.dumps(
    {
        "type": "STATE",
        "value": {
            "bookmarks": {
                "audit_logs": {
                    "replication_key": "meta.create_time",
                    "replication_key_value": RECENT,
                }
            }
        },
    }
)

GOOD_AUDIT = _lines(AUDIT_SCHEMA, *(audit_record(n) for n in range(5)), state_message(5))
MIB = 1 << 20
GIB = 1 << 30


def _limit(name: str, config: dict[str, Any], says: str, hides: str = "") -> BadInput:
    """A setting outside the outside limit it names: one line at start, nothing read."""
    return BadInput(f"target: {name}", "target", says, config=config, lines=GOOD_AUDIT, hides=hides)


# Each setting against the S3 / STS / zlib limit it names (settings_limits.py).
SETTING_LIMITS: list[BadInput] = [
    _limit(
        "multipart part below S3's 5 MiB",
        {"multipart_part_size_bytes": MIB},
        "multipart_part_size_bytes is 1048576: S3 takes parts of 5 MiB to 5 GiB; set it from "
        "5242880 (5 MiB) to 5368709120 (5 GiB)",
    ),
    _limit(
        "multipart part above S3's 5 GiB",
        {"multipart_part_size_bytes": 6 * GIB},
        "multipart_part_size_bytes is 6442450944: S3 takes parts of 5 MiB to 5 GiB",
    ),
    _limit(
        "multipart threshold above one PutObject",
        {"multipart_threshold_bytes": 6 * GIB},
        "multipart_threshold_bytes is 6442450944: one S3 PutObject holds at most 5 GiB",
    ),
    _limit(
        "batch larger than 10,000 parts",
        {"batch_max_bytes": 60_000 * MIB, "multipart_part_size_bytes": 5 * MIB},
        "S3 takes at most 10,000 parts of multipart_part_size_bytes 5242880: raise "
        "multipart_part_size_bytes to at least",
    ),
    _limit(
        "batch larger than an S3 object",
        {"batch_max_bytes": 6 << 40},
        "batch_max_bytes is 6597069766656: an S3 object holds at most 5 TiB",
    ),
    _limit(
        "SDK batch_size_rows zero",
        {"batch_size_rows": 0},
        "batch_size_rows is 0: a batch holds at least one record; set it at least 1",
    ),
    _limit(
        "negative batch age",
        {"batch_max_age_seconds": -1},
        "batch_max_age_seconds is -1: a batch's age cannot be negative",
    ),
    # Not an integer: a config file's -0.5 reaches the checks as Decimal (singer-sdk's JSON
    # reader), which they skipped before, so the run drained after every record.
    _limit(
        "negative fractional batch age",
        {"batch_max_age_seconds": -0.5},
        "batch_max_age_seconds is -0.5: a batch's age cannot be negative",
    ),
    _limit(
        "role session shorter than STS allows",
        {"role_duration_seconds": 60},
        "role_duration_seconds is 60: STS issues role sessions of 15 minutes to 12 hours",
    ),
    _limit("no attempts", {"max_attempts": 0}, "max_attempts is 0: each S3 request is tried"),
    _limit(
        "zero connect time-out",
        {"connect_timeout_seconds": 0},
        "connect_timeout_seconds is 0: a time-out must be positive",
    ),
    _limit(
        "negative read time-out",
        {"read_timeout_seconds": -5},
        "read_timeout_seconds is -5: a time-out must be positive",
    ),
    _limit(
        "compression level above zlib's 9",
        {"compression_level": 12},
        "compression_level must be a whole number from 1 (fastest) to 9 (smallest)",
    ),
    _limit(
        "bucket given as a URL",
        {"bucket": "s3://acme-exports/endor"},
        "is not an S3 bucket name (3-63 lowercase letters, digits, dots and hyphens): give the "
        "bucket's name alone, put any folder in prefix",
    ),
    # Checked as used: the run took " BKT " untrimmed ("Invalid bucket name" at the first
    # upload) and "bkt2\n" ("bucket bkt2 does not exist", the newline hidden).
    _limit("bucket with spaces", {"bucket": " acme-exports "}, "bucket ' acme-exports ' is not"),
    _limit("bucket with a line break", {"bucket": "bkt2\n"}, "bucket 'bkt2\\n' is not an S3"),
    _limit("bucket of a space", {"bucket": " "}, "bucket ' ' is not an S3 bucket name"),
    _limit("region with a line break", {"region": "us-east-1\n"}, "region 'us-east-1\\n' is not"),
    _limit(
        "endpoint with a space",
        {"endpoint_url": " http://127.0.0.1:9000"},
        "endpoint_url ' http://127.0.0.1:9000' is not an http(s) URL",
    ),
    _limit(
        "sts endpoint with a line break",
        {"sts_endpoint_url": "https://sts.example\n"},
        "sts_endpoint_url 'https://sts.example\\n' is not an http(s) URL",
    ),
    _limit(
        "role_arn with a line break",
        {"role_arn": "arn:aws:iam::123456789012:role/x\n"},
        "role_arn 'arn:aws:iam::123456789012:role/x\\n' is not an IAM role ARN",
    ),
    _limit(
        "region with spaces",
        {"region": "us east 1"},
        "region 'us east 1' is not an AWS region name such as us-east-1",
    ),
    _limit(
        "endpoint without a scheme",
        {"endpoint_url": "localhost:9000"},
        "endpoint_url 'localhost:9000' is not an http(s) URL",
    ),
    _limit(
        "sts endpoint not http",
        {"sts_endpoint_url": "ftp://sts.example"},
        "sts_endpoint_url 'ftp://sts.example' is not an http(s) URL",
    ),
    _limit(
        "prefix too long for S3's 1024-byte keys",
        {"prefix": "/".join(["exports"] * 80)},
        "S3 keys hold at most 1024 bytes and the layout below the root needs up to",
    ),
    _limit(
        "role_arn not an IAM role ARN",
        {"role_arn": "endor-export"},
        "role_arn 'endor-export' is not an IAM role ARN",
    ),
    _limit(
        "external_id STS refuses",
        {"role_arn": "arn:aws:iam::123456789012:role/x", "external_id": "hunter2 secret!"},
        "external_id (15 characters) is not one STS accepts",
        hides="hunter2 secret!",
    ),
    _limit(
        "unknown storage class",
        {"storage_class": "COLD"},
        "storage_class 'COLD' is not an S3 storage class: use one of",
    ),
    _limit(
        "KMS key that is not a key id",
        {"server_side_encryption": "aws:kms", "sse_kms_key_id": "my key"},
        "sse_kms_key_id 'my key' is not a KMS key id",
    ),
    _limit(
        "spool_dir missing",
        {"spool_dir": "/nonexistent/spool"},
        "spool_dir '/nonexistent/spool' is not a directory this user can write",
    ),
]

CATALOGUE: list[BadInput] = [
    # --- tap settings ---
    BadInput("tap: namespace missing", "tap", "namespace", drop=("namespace",)),
    BadInput("tap: page_size not a number", "tap", "page_size", config={"page_size": "many"}),
    BadInput("tap: page_size above 500", "tap", "page_size", config={"page_size": 5000}),
    BadInput(
        "tap: max_concurrent_requests above 16",
        "tap",
        "max_concurrent_requests",
        config={"max_concurrent_requests": 17},
    ),
    BadInput(
        "tap: max_concurrent_requests zero",
        "tap",
        "max_concurrent_requests",
        config={"max_concurrent_requests": 0},
    ),
    BadInput(
        "tap: include_child_namespaces not a boolean",
        "tap",
        "include_child_namespaces",
        config={"include_child_namespaces": "yes"},
    ),
    BadInput("tap: request_timeout zero", "tap", "request_timeout", config={"request_timeout": 0}),
    BadInput("tap: no credentials", "tap", "Missing credentials", drop=("api_key", "api_secret")),
    BadInput(
        "tap: token and key together", "tap", "mutually exclusive", config={"token": "abc.def"}
    ),
    BadInput(
        "tap: api_url where nothing listens",
        "tap",
        "Could not obtain an Endor Labs token from http://127.0.0.1:9 (ConnectionError: "
        "[Errno 111] Connection refused): ... attempts in ...s (retry_budget_seconds: 1); "
        "check api_url and the network",
        config={"api_url": "http://127.0.0.1:9", "retry_budget_seconds": 1},
    ),
    BadInput(
        # RFC 2606: .invalid never resolves; the resolver says so at once (no network needed).
        # It was retried quietly for the whole retry budget.
        "tap: api_url host that does not exist",
        "tap",
        "api_url's host 'api.endorlabs.invalid' does not exist (the DNS resolver answered "
        "[Errno ...] ...): fix api_url (Endor Labs' API is https://api.endorlabs.com).",
        config={"api_url": "https://api.endorlabs.invalid", "retry_budget_seconds": 20},
    ),
    BadInput(
        "tap: wrong api secret",
        "tap",
        "Endor Labs rejected the API key (HTTP 401)",
        config={"api_secret": "x1"},
    ),
    BadInput(
        "tap: expired or unknown token",
        "tap",
        "Endor Labs refused the credentials (HTTP 401)",
        config={"token": "expired-token-value"},
        drop=("api_key", "api_secret"),
    ),
    BadInput(
        "tap: unknown namespace",
        "tap",
        "Namespace 'nope' was not found (HTTP 404: ...): check the namespace setting",
        config={"namespace": "nope"},
    ),
    BadInput(
        "tap: forbidden namespace",
        "tap",
        "Access to namespace 'other-corp' was denied (HTTP 403: ...): give the API key",
        config={"namespace": "other-corp"},
    ),
    BadInput(
        "tap: bad audit_log_filter",
        "tap",
        "The Endor Labs API refused the audit_logs query (HTTP 400: ...): check audit_log_filter",
        config={"audit_log_filter": "spec.operation=="},
    ),
    BadInput("tap: bad finding_filter", "tap", "finding_filter", config={"finding_filter": "((("}),
    BadInput(
        "tap: unparseable start_date", "tap", "start_date", config={"start_date": "last tuesday"}
    ),
    BadInput(
        "tap: state file not JSON", "tap", "The state file ... is not JSON", state="{not json"
    ),
    BadInput("tap: state file a JSON list", "tap", "not an object", state="[1, 2]"),
    BadInput(
        "tap: state file of other streams",
        "tap",
        "The state file ... holds bookmarks only for other streams (github_issues)",
        state='{"bookmarks": {"github_issues": {"replication_key_value": "2024-01-01"}}}',
    ),
    # --- tap command line: every entry point and flag ---
    BadInput(
        "tap: --test with a wrong secret",
        "tap",
        "rejected the API key",
        config={"api_secret": "wrong-x1"},
        args=("--test",),
        hides="wrong-x1",
    ),
    BadInput(
        "tap: --test without a namespace", "tap", "namespace", drop=("namespace",), args=("--test",)
    ),
    BadInput(
        "tap: --discover with a bad start_date",
        "tap",
        "start_date 'last tuesday' is not a date",
        config={"start_date": "last tuesday"},
        args=("--discover",),
    ),
    BadInput(
        "tap: --discover without credentials",
        "tap",
        "Missing credentials",
        drop=("api_key", "api_secret"),
        args=("--discover",),
    ),
    BadInput(
        "tap: --config file missing",
        "tap",
        "--config could not be read",
        no_config=True,
        args=("--config", "@missing.json"),
    ),
    BadInput(
        "tap: --catalog file missing",
        "tap",
        "Invalid value for '--catalog'",
        exit_code=2,
        args=("--catalog", "@missing.json"),
    ),
    BadInput(
        "tap: --catalog not JSON",
        "tap",
        "catalog file",
        files={"catalog.json": "{streams"},
        args=("--catalog", "@catalog.json"),
    ),
    BadInput(
        "tap: --catalog not a catalog",
        "tap",
        "is not a Singer catalog",
        files={"catalog.json": '{"streams": 5}'},
        args=("--catalog", "@catalog.json"),
    ),
    BadInput(
        "tap: --state file missing",
        "tap",
        "Invalid value for '--state'",
        exit_code=2,
        args=("--state", "@missing.json"),
    ),
    BadInput(
        "tap: state bookmarks not objects",
        "tap",
        "is not a Singer state",
        state='{"bookmarks": {"audit_logs": 5}}',
    ),
    BadInput(
        "tap: unknown flag", "tap", "No such option '--bogus'", exit_code=2, args=("--bogus",)
    ),
    BadInput(
        "tap: --about --format xml",
        "tap",
        "'xml' is not one of",
        exit_code=2,
        args=("--about", "--format", "xml"),
    ),
    BadInput("tap: stdout closed", "tap", "standard output is closed", closed="stdout"),
    BadInput(
        "tap: the target stops reading (broken pipe)",
        "tap",
        "tap-endorlabs: error: the target stopped reading the tap's output (broken pipe)",
        closed="pipe",
    ),
    BadInput(
        "tap: window_hours zero (never advanced)",
        "tap",
        "config['window_hours']",
        config={"window_hours": 0},
    ),
    BadInput(
        "tap: api_url not a URL",
        "tap",
        "api_url 'not a url' is not an http(s) URL",
        config={"api_url": "not a url"},
    ),
    BadInput(
        "tap: api_url plain http to another machine",
        "tap",
        "api_url http://api.example.com is plain http to another machine",
        config={"api_url": "http://api.example.com"},
    ),
    BadInput(
        "tap: api_url with a user name and password",
        "tap",
        "api_url for https://api.endorlabs.com holds a user name or password",
        config={"api_url": "https://admin:pw-hunter2@api.endorlabs.com"},
        hides="pw-hunter2",
    ),
    # --- mistakes that used to be accepted silently ---
    BadInput(
        "tap: api_secret misspelled",
        "tap",
        "'api_secert' is set instead of 'api_secret'",
        config={"api_secert": "demo-secret"},
        drop=("api_secret",),
    ),
    BadInput(
        "tap: namespace misspelled",
        "tap",
        "'namspace' is set instead of 'namespace'",
        config={"namspace": "acme"},
        drop=("namespace",),
    ),
    BadInput(
        "tap: start_date misspelled (warned, discovery goes on)",
        "tap",
        "",
        exit_code=0,
        config={"start_time": "2025-01-01T00:00:00Z"},
        args=("--discover",),
        logs="Unknown setting 'start_time' is ignored: did you mean 'start_date'?",
    ),
    BadInput(
        "tap: bare date in a filter",
        "tap",
        "audit_log_filter compares with the bare date 2025-01-01, which matches nothing: "
        "write date(2025-01-01T00:00:00Z)",
        config={"audit_log_filter": "meta.create_time >= 2025-01-01"},
    ),
    BadInput(
        "tap: state file holding a whole STATE message (accepted: its value)",
        "tap",
        "",
        exit_code=0,
        config={"include_child_namespaces": False},
        state=STATE_AS_MESSAGE,
        logs=f"Starting incremental sync of 'audit_logs' with bookmark value: {RECENT}",
    ),
    # --- target settings ---
    BadInput("target: bucket missing", "target", "bucket", drop=("bucket",), lines=GOOD_AUDIT),
    BadInput(
        "target: batch_max_records not a number",
        "target",
        "batch_max_records",
        config={"batch_max_records": "ten"},
        lines=GOOD_AUDIT,
    ),
    BadInput(
        "target: batch_max_records zero",
        "target",
        "batch_max_records",
        config={"batch_max_records": 0},
        lines=GOOD_AUDIT,
    ),
    BadInput(
        "target: unknown format", "target", "format", config={"format": "xml"}, lines=GOOD_AUDIT
    ),
    BadInput(
        "target: key id without secret",
        "target",
        "aws_secret_access_key",
        drop=("aws_secret_access_key",),
        lines=GOOD_AUDIT,
    ),
    BadInput(
        "target: unreachable endpoint",
        "target",
        "unreachable",
        config={"endpoint_url": "http://127.0.0.1:9", "max_attempts": 1, "max_retry_seconds": 0},
        lines=GOOD_AUDIT,
    ),
    BadInput(
        "target: bucket misspelled",
        "target",
        "'bucket_name' is set instead of 'bucket'",
        config={"bucket_name": "b"},
        drop=("bucket",),
        lines=GOOD_AUDIT,
    ),
    BadInput(
        "target: compression misspelled (warned, the run goes on)",
        "target",
        "",
        exit_code=0,
        config={"compresion": "gzip"},
        lines=GOOD_AUDIT,
        logs="Unknown setting 'compresion' is ignored: did you mean 'compression'?",
    ),
    BadInput(
        "target: web_identity_token_file missing",
        "target",
        "web_identity_token_file /nonexistent/token cannot be read",
        config={
            "role_arn": "arn:aws:iam::123456789012:role/EndorExportWriter",
            "web_identity_token_file": "/nonexistent/token",
        },
        lines=GOOD_AUDIT,
    ),
    # --- target command line: every entry point and flag ---
    BadInput("target: stdin closed", "target", "standard input is closed", closed="stdin"),
    BadInput(
        "target: stdout closed",
        "target",
        "standard output is closed",
        closed="stdout",
        lines=GOOD_AUDIT,
    ),
    BadInput(
        "target: --input file missing",
        "target",
        "Invalid value for '--input'",
        exit_code=2,
        args=("--input", "@missing.singer"),
    ),
    BadInput(
        "target: --input not Singer",
        "target",
        "input line is not valid JSON",
        files={"in.singer": "hello world\n"},
        args=("--input", "@in.singer"),
    ),
    BadInput(
        "target: --config file missing",
        "target",
        "--config could not be read (...missing.json: No such file or directory)",
        no_config=True,
        args=("--config", "@missing.json"),
    ),
    BadInput(
        "target: --config names an empty file",
        "target",
        "--config was given an empty file name",
        no_config=True,
        args=("--config", ""),
    ),
    BadInput(
        "target: unknown flag", "target", "No such option '--bogus'", exit_code=2, args=("--bogus",)
    ),
    BadInput(
        "target: --about --format xml",
        "target",
        "'xml' is not one of",
        exit_code=2,
        args=("--about", "--format", "xml"),
    ),
    *SETTING_LIMITS,
    # --- target input ---
    BadInput(
        "target: malformed Singer line",
        "target",
        "input line is not valid JSON",
        lines=_lines(AUDIT_SCHEMA, audit_record(1), b'{"type": "RECORD", "stream": '),
    ),
    BadInput(
        "target: line is a JSON array",
        "target",
        "not a Singer message",
        lines=_lines(AUDIT_SCHEMA, b"[1, 2, 3]"),
    ),
    BadInput(
        "target: message without type",
        "target",
        "type",
        lines=_lines(AUDIT_SCHEMA, {"stream": "audit_logs", "record": {"token": "hunter2-x"}}),
        hides="hunter2-x",
    ),
    BadInput(
        "target: record message without its record",
        "target",
        "lacks its record key",
        lines=_lines(AUDIT_SCHEMA, {"type": "RECORD", "stream": "audit_logs", "k": "hunter2-y"}),
        hides="hunter2-y",
    ),
    BadInput(
        "tap: config file is not JSON",
        "tap",
        "--config could not be read",
        config_text="api_key: not-json",
    ),
    BadInput(
        "target: config file is not JSON",
        "target",
        "--config could not be read",
        config_text="{bucket: x",
    ),
    BadInput(
        "target: unknown message type",
        "target",
        "unknown Singer message type 'FOO'",
        lines=_lines(AUDIT_SCHEMA, {"type": "FOO", "stream": "audit_logs"}),
    ),
    BadInput(
        "target: record before its schema",
        "target",
        "audit_logs",
        lines=_lines(audit_record(1), AUDIT_SCHEMA),
    ),
    BadInput(
        "target: record does not match its schema",
        "target",
        "record 1 of stream 'audit_logs' does not match its SCHEMA (data.uuid must be string)",
        lines=_lines(AUDIT_SCHEMA, {**audit_record(1), "record": {"uuid": 12345}}),
    ),
    BadInput(
        "target: schema that is not JSON Schema",
        "target",
        "SCHEMA of stream 'audit_logs' is not a valid JSON Schema",
        lines=_lines(
            {**AUDIT_SCHEMA, "schema": {"type": "object", "properties": {"uuid": {"type": 7}}}},
            audit_record(1),
        ),
    ),
    BadInput(
        "target: schema with a $ref to a local file",
        "target",
        "SCHEMA of stream 'audit_logs' is not a valid JSON Schema (a $ref or $schema names a "
        "file: document outside the message",
        lines=_lines(
            {**AUDIT_SCHEMA, "schema": {"properties": {"x": {"$ref": "file:///etc/passwd#/a"}}}},
            audit_record(1),
        ),
        hides="root:",
    ),
    # --- every KeyError/TypeError path of singer-sdk's message handlers ---
    BadInput(
        "target: message type not a string",
        "target",
        "unknown Singer message type ['RECORD']",
        lines=_lines(AUDIT_SCHEMA, {"type": ["RECORD"], "stream": "audit_logs"}),
    ),
    BadInput(
        "target: record message with a stream that is not a string",
        "target",
        "a RECORD message's stream must be a string, not list",
        lines=_lines(AUDIT_SCHEMA, {**audit_record(1), "stream": ["audit_logs"]}),
    ),
    BadInput(
        "target: record that is not an object",
        "target",
        "a RECORD message of stream 'audit_logs' holds a list, not a JSON object",
        lines=_lines(AUDIT_SCHEMA, {**audit_record(1), "record": ["hunter2-r"]}),
        hides="hunter2-r",
    ),
    BadInput(
        "target: schema message without its stream",
        "target",
        "a SCHEMA message lacks its stream key",
        lines=_lines(_without(AUDIT_SCHEMA, "stream")),
    ),
    BadInput(
        "target: schema message with a stream that is not a string",
        "target",
        "a SCHEMA message's stream must be a string, not dict",
        lines=_lines({**AUDIT_SCHEMA, "stream": {"name": "audit_logs"}}),
    ),
    BadInput(
        "target: schema message without its schema",
        "target",
        "the SCHEMA message for stream 'audit_logs' lacks its schema",
        lines=_lines(_without(AUDIT_SCHEMA, "schema"), audit_record(1)),
    ),
    BadInput(
        "target: schema that is not an object",
        "target",
        "has a schema that is str, not a JSON object",
        lines=_lines({**AUDIT_SCHEMA, "schema": "object"}, audit_record(1)),
    ),
    BadInput(
        "target: schema whose properties are not an object",
        "target",
        "the SCHEMA of stream 'audit_logs' has properties that are list",
        lines=_lines({**AUDIT_SCHEMA, "schema": {"type": "object", "properties": ["uuid"]}}),
    ),
    BadInput(
        "target: schema with key_properties that are not a list",
        "target",
        "has key_properties that are not a list of field names",
        lines=_lines({**AUDIT_SCHEMA, "key_properties": "uuid"}, audit_record(1)),
    ),
    BadInput(
        "target: state message without its value",
        "target",
        "lacks its value key",
        lines=_lines(AUDIT_SCHEMA, audit_record(1), {"type": "STATE", "bookmarks": {}}),
    ),
    BadInput(
        "target: activate_version before its schema",
        "target",
        "ACTIVATE_VERSION message for stream 'audit_logs' came before that stream's SCHEMA",
        lines=_lines(_activate(), AUDIT_SCHEMA, audit_record(1)),
    ),
    BadInput(
        "target: activate_version without its version",
        "target",
        "ACTIVATE_VERSION message for stream 'audit_logs' lacks its version key",
        lines=_lines(AUDIT_SCHEMA, _without(_activate(), "version")),
    ),
    BadInput(
        "target: activate_version with a version that is not a number",
        "target",
        "has a version that is not a whole number",
        lines=_lines(AUDIT_SCHEMA, _activate(version="seven")),
    ),
    BadInput(
        "target: activate_version without its stream",
        "target",
        "an ACTIVATE_VERSION message lacks its stream key",
        lines=_lines(AUDIT_SCHEMA, _without(_activate(), "stream")),
    ),
    BadInput(
        "target: batch without its manifest",
        "target",
        "the BATCH message for stream 'audit_logs' lacks its manifest",
        lines=_lines(AUDIT_SCHEMA, _without(_batch(), "manifest"), state_message(1)),
    ),
    BadInput(
        "target: batch manifest that is one string",
        "target",
        "has a manifest that is not a list of file URLs",
        lines=_lines(AUDIT_SCHEMA, {**_batch(), "manifest": "file:///tmp/a.jsonl"}),
    ),
    BadInput(
        "target: batch without its encoding",
        "target",
        "lacks its encoding object",
        lines=_lines(AUDIT_SCHEMA, _without(_batch(), "encoding")),
    ),
    BadInput(
        "target: batch of an unknown encoding format",
        "target",
        "has the unknown encoding format 'csv'",
        lines=_lines(AUDIT_SCHEMA, _batch(encoding={"format": "csv"}), state_message(1)),
    ),
    BadInput(
        "target: batch of an unknown compression",
        "target",
        "has the unknown compression 'zstd'",
        lines=_lines(AUDIT_SCHEMA, _batch(encoding={"format": "jsonl", "compression": "zstd"})),
    ),
    BadInput(
        "target: batch without its stream",
        "target",
        "a BATCH message lacks its stream key",
        lines=_lines(AUDIT_SCHEMA, _without(_batch(), "stream")),
    ),
    BadInput(
        "target: batch before its schema",
        "target",
        "a BATCH message for stream 'audit_logs' came before that stream's SCHEMA",
        lines=_lines(_batch("batch_line_not_object.jsonl"), AUDIT_SCHEMA),
    ),
    BadInput(
        "target: batch file that is gone",
        "target",
        "could not be opened (No such file or directory)",
        lines=_lines(AUDIT_SCHEMA, _batch("no-such-batch-file.jsonl"), state_message(1)),
    ),
    BadInput(
        "target: batch on s3 without s3fs",
        "target",
        "cannot be read here: Install s3fs to access S3",
        lines=_lines(AUDIT_SCHEMA, _batch("s3://bucket/batch.jsonl.gz?X-Amz-Signature=hunter2-s")),
        hides="hunter2-s",
    ),
    BadInput(
        "target: endpoint_url with a user name and password",
        "target",
        "endpoint_url for http://127.0.0.1:9 holds a user name or password",
        config={"endpoint_url": "http://admin:pw-hunter2@127.0.0.1:9"},
        hides="pw-hunter2",
    ),
    BadInput(
        "target: sts_endpoint_url plain http to another machine",
        "target",
        "sts_endpoint_url http://sts.example.com is plain http to another machine",
        config={"sts_endpoint_url": "http://sts.example.com"},
    ),
    BadInput(
        "target: batch file on an http server",
        "target",
        "BATCH file 'http://127.0.0.1:9/b.jsonl' of stream 'audit_logs' uses the http: scheme, "
        "which the target does not open",
        lines=_lines(AUDIT_SCHEMA, _batch("http://127.0.0.1:9/b.jsonl"), state_message(1)),
    ),
    BadInput(
        "target: batch file line that is not JSON",
        "target",
        "batch_line_not_json.jsonl' of stream 'audit_logs' line 2 is not valid JSON",
        lines=_lines(AUDIT_SCHEMA, _batch("batch_line_not_json.jsonl"), state_message(1)),
        hides="hunter2-batch",
    ),
    BadInput(
        "target: batch file line that is not an object",
        "target",
        "line 2 is a list, not a record object",
        lines=_lines(AUDIT_SCHEMA, _batch("batch_line_not_object.jsonl"), state_message(1)),
        hides="hunter2-list",
    ),
    BadInput(
        "target: batch file gzip cut short",
        "target",
        "batch_damaged.jsonl.gz' of stream 'audit_logs' is damaged after line",
        lines=_lines(AUDIT_SCHEMA, _batch("batch_damaged.jsonl.gz"), state_message(1)),
    ),
    BadInput(
        "target: batch file that is not parquet",
        "target",
        "batch_not_parquet.parquet' of stream 'audit_logs' is not a readable Parquet file",
        lines=_lines(
            AUDIT_SCHEMA,
            _batch("batch_not_parquet.parquet", encoding={"format": "parquet"}),
            state_message(1),
        ),
    ),
    # --- bad but acceptable: must succeed, keys under the prefix ---
    BadInput(
        "target: schema without properties (an open object)",
        "target",
        "",
        exit_code=0,
        lines=_lines(
            OPEN_SCHEMA,
            {"type": "RECORD", "stream": "events", "record": {"uuid": "e-1", "free": {"a": [1]}}},
            state_message(1),
        ),
    ),
    BadInput(
        "target: schema with non-integer numbers (multipleOf 0.01)",
        "target",
        "",
        exit_code=0,
        lines=_lines(
            {
                **AUDIT_SCHEMA,
                "schema": {
                    "type": "object",
                    "properties": {"cost": {"type": "number", "multipleOf": 0.01}},
                },
            },
            {**audit_record(1), "record": {**audit_record(1)["record"], "cost": 12.34}},
            state_message(1),
        ),
    ),
    BadInput(
        "target: activate_version after its schema",
        "target",
        "",
        exit_code=0,
        lines=_lines(AUDIT_SCHEMA, _activate(), audit_record(1), _activate(), state_message(1)),
    ),
    BadInput(
        "target: state holding a non-integer, a huge integer and 1e400",
        "target",
        "",
        exit_code=0,
        lines=_lines(
            AUDIT_SCHEMA,
            audit_record(1),
            (
                '{"type": "STATE", "value": {"at": 1727740800.25, "n": '
                '123456789012345678901234567890, "big": 1e400, "name": "名前"}}'
            ).encode(),
        ),
    ),
    BadInput(
        "target: records missing layout fields",
        "target",
        "",
        exit_code=0,
        lines=_lines(
            AUDIT_SCHEMA,
            {"type": "RECORD", "stream": "audit_logs", "record": {"uuid": "no-layout"}},
            FINDINGS_SCHEMA,
            {"type": "RECORD", "stream": "findings", "record": {"uuid": "no-context"}},
            state_message(1),
        ),
    ),
    BadInput(
        "target: hostile namespaces, projects and branches in findings",
        "target",
        "",
        exit_code=0,
        lines=_hostile_findings(),
    ),
    BadInput(
        "target: hostile audit-log namespaces",
        "target",
        "",
        exit_code=0,
        lines=_hostile_audit_namespaces(),
    ),
    BadInput(
        "target: a huge record (8 MB)",
        "target",
        "",
        exit_code=0,
        lines=_lines(
            AUDIT_SCHEMA,
            {**audit_record(1), "record": {**audit_record(1)["record"], "blob": "y" * (8 << 20)}},
            state_message(1),
        ),
    ),
    # --- issue 21.2: input not valid, or too big, is one line; a BOM is accepted ---
    BadInput(
        "target: random bytes in a line",
        "target",
        "input line is not valid JSON",
        lines=_lines(AUDIT_SCHEMA, audit_record(1), bytes(range(256)).replace(b"\n", b"")),
    ),
    BadInput(
        "target: invalid UTF-8 inside a record's string",
        "target",
        "input line is not UTF-8 text",
        lines=_lines(
            AUDIT_SCHEMA,
            json.dumps(audit_record(1))
            .replace("acme", "ac\udcffme")
            .encode("utf-8", "surrogateescape"),
        ),
    ),
    BadInput(
        "target: a RECORD nested 10,000 deep",
        "target",
        "nested deeper than the JSON reader goes",
        lines=_lines(AUDIT_SCHEMA, _nested_record(10_000)),
    ),
    BadInput(
        "target: a STATE nested 10,000 deep",
        "target",
        "nested deeper than the JSON reader goes",
        lines=_lines(
            AUDIT_SCHEMA, audit_record(1), b'{"type":"STATE","value":' + _nested(10_000) + b"}"
        ),
    ),
    BadInput(
        "target: a RECORD nested 900 deep",
        "target",
        "",
        exit_code=0,
        lines=_lines(AUDIT_SCHEMA, _nested_record(900), state_message(1)),
    ),
    BadInput(
        "target: a UTF-8 byte order mark before the first line",
        "target",
        "",
        exit_code=0,
        lines=b"\xef\xbb\xbf" + _lines(AUDIT_SCHEMA, audit_record(1), state_message(1)),
    ),
    BadInput(
        "target: a line longer than max_line_bytes",
        "target",
        "input line 3 (stream 'audit_logs') is longer than max_line_bytes (4096 bytes)",
        config={"max_line_bytes": 4096},
        lines=_lines(
            AUDIT_SCHEMA,
            audit_record(1),
            {**audit_record(2), "record": {**audit_record(2)["record"], "blob": "y" * 5000}},
        ),
    ),
    BadInput(
        "target: the tap killed mid-line",
        "target",
        "the input ended mid-message: line 4 of stream 'audit_logs'",
        lines=_lines(AUDIT_SCHEMA, audit_record(1), state_message(1))
        + json.dumps(audit_record(2)).encode()[:50],
    ),
]
