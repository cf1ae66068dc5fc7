"""The target's settings as a JSON Schema: names, types, defaults and descriptions, once.

This is what ``--about`` prints, what singer-sdk validates a configuration
against (filling in each absent setting's ``default``) and what the README's
settings table is checked against.  ``model.py`` reads every default from here,
so a default is written in one place: a literal below, or the constant of the
module that owns the value (``DEFAULT_COMPRESSION_LEVEL``, ...).
"""

from __future__ import annotations

from typing import Any

from singer_sdk import typing as th

from target_s3_endor.formats.encoding import COMPRESSIONS, DEFAULT_COMPRESSION_LEVEL, FORMATS
from target_s3_endor.input.lines import DEFAULT_MAX_LINE_BYTES
from target_s3_endor.layouts import endor
from target_s3_endor.layouts.registry import DEFAULT_LAYOUT, LAYOUTS
from target_s3_endor.storage.retry import DEFAULT_MAX_RETRY_SECONDS
from target_s3_endor.storage.upload_pool import DEFAULT_MAX_CONCURRENT_UPLOADS

MIB = 1 << 20

SETTINGS_SCHEMA: dict[str, Any] = th.PropertiesList(
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
            "http(s) URL of an S3-compatible endpoint (MinIO, a local server); leave unset for AWS."
        ),
    ),
    th.Property(
        "prefix",
        th.StringType,
        default="endor",
        description=(
            "First segment(s) of every key, as in Endor Labs' own exporter. With the exporter "
            f"segment at most {endor.MAX_ROOT_BYTES} bytes, so every key stays within S3's "
            f"{endor.MAX_KEY_BYTES}. Layout endor only: security-lake keys hold no prefix."
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
            "Uuid in the second key segment; default: derived stably from exporter_name (uuid5)."
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
        default=DEFAULT_LAYOUT,
        allowed_values=list(LAYOUTS),
        description=(
            "Key layout: endor (Endor Labs' exporter folders) or security-lake (OCSF 1.3.0 "
            "events as zstd Parquet under ext/<source>/region=<region>/accountId=<account>/"
            "eventDay=<YYYYMMDD>/ for an Amazon Security Lake custom source; format, "
            "compression, compression_level, prefix, exporter_name and exporter_uuid do not "
            "apply, and a warning names each one set to other than its default; needs the "
            "security-lake extra)."
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
            "(layout: security-lake: one per source written, under ext/<source>/_manifests/; "
            "for downstream loaders that read manifests)."
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

#: The target's own settings, in the schema's order (singer-sdk later adds its built-in ones,
#: such as ``batch_size_rows``, to the same dict: those are the SDK's to read).
SETTING_NAMES: tuple[str, ...] = tuple(SETTINGS_SCHEMA["properties"])


def schema_default(name: str) -> Any:
    """The ``default`` the schema declares for a setting (None: it has none)."""
    return SETTINGS_SCHEMA["properties"][name].get("default")
