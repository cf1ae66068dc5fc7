"""The catalogue of bad inputs: what each one is, and the one line it must produce.

Each case names the plugin, how its config/state/input differ from a good run,
the exit code and a fragment the single error line must contain.  Cases with
exit code 0 are bad-but-acceptable input (hostile names, missing layout fields,
a huge record): the run must succeed and keep every key under the prefix.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
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
    says: str  # a fragment of the one error line (empty: success expected)
    exit_code: int = 1
    config: dict[str, Any] = field(default_factory=dict)  # merged into the good config
    drop: tuple[str, ...] = ()  # settings removed from the good config
    state: str | None = None  # tap: raw --state file text
    lines: bytes = b""  # target: raw input
    config_text: str | None = None  # the --config file's text instead of the good config
    hides: str = ""  # a value of the input that must not appear on stderr


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
    BadInput("tap: wrong api secret", "tap", "rejected the API key", config={"api_secret": "x1"}),
    BadInput(
        "tap: expired or unknown token",
        "tap",
        "refused the credentials",
        config={"token": "expired-token-value"},
        drop=("api_key", "api_secret"),
    ),
    BadInput("tap: unknown namespace", "tap", "was not found", config={"namespace": "nope"}),
    BadInput("tap: forbidden namespace", "tap", "was denied", config={"namespace": "other-corp"}),
    BadInput(
        "tap: bad audit_log_filter",
        "tap",
        "audit_log_filter",
        config={"audit_log_filter": "spec.operation=="},
    ),
    BadInput("tap: bad finding_filter", "tap", "finding_filter", config={"finding_filter": "((("}),
    BadInput(
        "tap: unparseable start_date", "tap", "start_date", config={"start_date": "last tuesday"}
    ),
    BadInput("tap: state file not JSON", "tap", "state file", state="{not json"),
    BadInput("tap: state file a JSON list", "tap", "not an object", state="[1, 2]"),
    BadInput(
        "tap: state file of other streams",
        "tap",
        "bookmarks only for other streams (github_issues)",
        state='{"bookmarks": {"github_issues": {"replication_key_value": "2024-01-01"}}}',
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
        config={"endpoint_url": "http://127.0.0.1:9", "max_attempts": 1},
        lines=GOOD_AUDIT,
    ),
    *SETTING_LIMITS,
    # --- target input ---
    BadInput(
        "target: malformed Singer line",
        "target",
        "not valid JSON",
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
        "does not match its SCHEMA",
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
    # --- bad but acceptable: must succeed, keys under the prefix ---
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
]
