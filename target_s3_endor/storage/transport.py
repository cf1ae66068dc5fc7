"""The S3 side: boto3 client, credentials, checksums, multipart, retries, errors.

Only ``PutObject`` and the multipart calls it authorises (create / upload part /
complete) are ever made, so ``s3:PutObject`` on ``bucket/prefix*`` is all the
target needs: no list, head, get or bucket calls.  Every upload carries a
SHA-256 checksum, which S3 verifies and Object Lock buckets require; with
``endpoint_url`` (an S3-compatible store) a Content-MD5 instead, which every
store checks (``checksum_settings``).

Every upload is conditional (``If-None-Match: *`` on PutObject and on
CompleteMultipartUpload, S3's conditional writes): botocore retries a request
whose answer came too late, and the first attempt may have stored the object
already; unconditional, the retry stored a second copy (a second version in a
versioned bucket: with 30% of answers slower than ``read_timeout_seconds``, 6
of 23 batch keys were written twice).  So a 412 PreconditionFailed after a
retry means the object is there: success.  A 412 at the first attempt means
the key held an object before this upload began, which only a scan's key can
(its key is fixed by the scan, and a later run re-sending the scan replaces
it), so the upload is made again without the condition.  A store that refuses
the header (501 NotImplemented, or 400 naming it) gets the upload again
without it, and no condition for the rest of the run, with one warning.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Literal

import boto3
import botocore.session
from botocore.config import Config
from botocore.credentials import DeferredRefreshableCredentials
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    EndpointConnectionError,
    NoCredentialsError,
    PartialCredentialsError,
    ProfileNotFound,
)

from connector_common.lines import one_line
from target_s3_endor.errors import NO_ROOM_ERRNOS, CredentialsError, SettingsError, UploadError
from target_s3_endor.storage.region import build_client
from target_s3_endor.storage.retry import (
    Failure,
    classify,
    pause_after,
    skew_line,
)
from target_s3_endor.storage.s3_settings import S3Settings

HASH_CHUNK = 1 << 20
LOGGER = logging.getLogger("target-s3-endor")
#: Error codes of a store that does not know conditional writes.
CONDITION_REFUSED_CODES = frozenset({"NotImplemented", "501"})
# Their DEBUG records print request headers (x-amz-security-token) and STS
# response bodies (SecretAccessKey), so they never go below INFO.
AWS_LOGGERS = ("botocore", "boto3", "s3transfer", "urllib3")
ROLE_SESSION_NAME = "target-s3-endor"


def sha256_b64(data: bytes) -> str:
    """Base64 SHA-256, the form S3's ``ChecksumSHA256`` takes."""
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


def md5_b64(data: bytes) -> str:
    """Base64 MD5, the form ``Content-MD5`` takes (every S3-compatible store checks it)."""
    return base64.b64encode(hashlib.md5(data, usedforsecurity=False).digest()).decode()


def file_digest_b64(stream: IO[bytes], algorithm: str) -> str:
    """Base64 digest (``sha256`` or ``md5``) of a whole file, read in chunks; rewinds it after."""
    digest = hashlib.new(algorithm, usedforsecurity=False)
    stream.seek(0)
    while chunk := stream.read(HASH_CHUNK):
        digest.update(chunk)
    stream.seek(0)
    return base64.b64encode(digest.digest()).decode()


def file_sha256_b64(stream: IO[bytes]) -> str:
    """Base64 SHA-256 of a whole file, read in chunks; rewinds it after."""
    digest = hashlib.sha256()
    stream.seek(0)
    while chunk := stream.read(HASH_CHUNK):
        digest.update(chunk)
    stream.seek(0)
    return base64.b64encode(digest.digest()).decode()


class _WithoutTraceback(logging.Filter):
    """Keep a log record but drop its traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.exc_info, record.exc_text = None, None
        return True


def quiet_aws_debug_logs() -> None:
    """Keep AWS libraries' DEBUG logs (which hold secrets) out, whatever LOGLEVEL says.

    botocore also logs a failed credential refresh (role trust, token file) with
    its traceback before raising; the target reports that error as its one line.
    """
    for name in AWS_LOGGERS:
        logger = logging.getLogger(name)
        if logger.getEffectiveLevel() < logging.INFO:
            logger.setLevel(logging.INFO)
    credentials = logging.getLogger("botocore.credentials")
    if not any(isinstance(f, _WithoutTraceback) for f in credentials.filters):
        credentials.addFilter(_WithoutTraceback())


def _role_fetcher(
    settings: S3Settings, role_arn: str, base_session: boto3.Session
) -> Callable[[], dict[str, Any]]:
    """A function returning fresh role credentials (assume role or web identity)."""
    sts = build_client(
        base_session,
        "sts",
        region=settings.region or "us-east-1",
        endpoint_url=settings.sts_endpoint_url,
        verify=settings.ssl_verify,
    )
    token_file = settings.web_identity_token_file
    duration = settings.role_duration_seconds

    def fetch() -> dict[str, Any]:
        try:
            if token_file:
                token = Path(token_file).read_text(encoding="utf-8").strip()
                response: Any = sts.assume_role_with_web_identity(
                    RoleArn=role_arn,
                    RoleSessionName=ROLE_SESSION_NAME,
                    WebIdentityToken=token,
                    DurationSeconds=duration,
                )
            else:
                kwargs: dict[str, Any] = {}
                if settings.external_id:
                    kwargs["ExternalId"] = settings.external_id
                response = sts.assume_role(
                    RoleArn=role_arn,
                    RoleSessionName=ROLE_SESSION_NAME,
                    DurationSeconds=duration,
                    **kwargs,
                )
        except (ClientError, BotoCoreError) as exc:
            # First: botocore's SSLError and time-outs are OSErrors too (through requests).
            raise CredentialsError(describe_sts_error(exc, settings)) from None
        except OSError as exc:
            msg = (
                f"web_identity_token_file {token_file} cannot be read ({exc.strerror}): "
                "point it at the OIDC token your platform writes"
            )
            raise CredentialsError(msg) from None
        creds = response["Credentials"]
        return {
            "access_key": creds["AccessKeyId"],
            "secret_key": creds["SecretAccessKey"],
            "token": creds["SessionToken"],
            "expiry_time": creds["Expiration"].isoformat(),
        }

    return fetch


def build_session(settings: S3Settings) -> boto3.Session:
    """A boto3 session for the configured auth: keys, profile, role or default chain.

    Role credentials are refreshable and fetched lazily (on the first request),
    so a long run outlives a one-hour role session.
    """
    try:
        base = boto3.Session(
            aws_access_key_id=settings.aws_access_key_id,
            aws_secret_access_key=settings.aws_secret_access_key,
            aws_session_token=settings.aws_session_token,
            profile_name=settings.aws_profile,
            region_name=settings.region,
        )
    except ProfileNotFound:
        msg = f"aws_profile {settings.aws_profile!r} is not in the AWS config files"
        raise SettingsError(msg) from None
    if not settings.role_arn:
        return base
    core = botocore.session.Session()
    # botocore has no public setter for refreshable credentials; this is the
    # attribute its own credential resolver fills.
    core._credentials = DeferredRefreshableCredentials(  # type: ignore[attr-defined]
        refresh_using=_role_fetcher(settings, settings.role_arn, base),
        method="web-identity" if settings.web_identity_token_file else "assume-role",
    )
    return boto3.Session(botocore_session=core, region_name=settings.region)


def describe_sts_error(exc: Exception, settings: S3Settings) -> str:
    """Say which trust is missing when a role cannot be assumed."""
    role = settings.role_arn
    if isinstance(exc, ClientError):
        code = exc.response.get("Error", {}).get("Code", "")
        detail = exc.response.get("Error", {}).get("Message", "")
        if settings.web_identity_token_file:
            if code in {"InvalidIdentityToken", "ExpiredTokenException", "IDPRejectedClaim"}:
                return (
                    f"sts:AssumeRoleWithWebIdentity for {role} refused the token ({code}): "
                    "check web_identity_token_file and the OIDC provider's audience"
                )
            return (
                f"sts:AssumeRoleWithWebIdentity on {role} is denied ({code}: {detail}): "
                "the role's trust policy must allow your OIDC provider"
            )
        hint = " and the external_id" if settings.external_id else ""
        return (
            f"sts:AssumeRole on {role} is denied ({code}: {detail}): check the role's trust "
            f"policy{hint}"
        )
    return f"cannot reach STS to assume {role}: {exc}"


@dataclass(frozen=True)
class UploadSettings:
    """What every upload sends besides the bytes."""

    bucket: str
    server_side_encryption: str | None
    sse_kms_key_id: str | None
    storage_class: str | None
    multipart_threshold: int  # bytes (multipart_threshold_bytes)
    multipart_part_size: int  # bytes (multipart_part_size_bytes)
    #: SHA-256 checksums (S3's flexible checksums) or, for stores that predate them, Content-MD5.
    sha256_checksums: bool

    def extra_args(self) -> dict[str, Any]:
        """SSE and storage class, passed through as S3 takes them."""
        extra: dict[str, Any] = {}
        if self.server_side_encryption:
            extra["ServerSideEncryption"] = self.server_side_encryption
        if self.sse_kms_key_id:
            extra["SSEKMSKeyId"] = self.sse_kms_key_id
        if self.storage_class:
            extra["StorageClass"] = self.storage_class
        return extra


class S3Writer:
    """Writes whole objects to S3 with checksums, multipart above a threshold.

    ``put`` is called from several threads at once (``upload_pool.py``): the
    boto3 client is thread-safe, a credential renewal is taken under a lock,
    and ``conditional`` only ever turns False.

    A failed upload is retried as ``storage/retry.py`` says, within ``max_retry_seconds``.
    """

    def __init__(self, settings: S3Settings) -> None:
        quiet_aws_debug_logs()
        self._s3_settings = settings
        request_checksums, response_checksums = checksum_settings(settings)
        self.settings = UploadSettings(
            bucket=settings.bucket,
            server_side_encryption=settings.server_side_encryption,
            sse_kms_key_id=settings.sse_kms_key_id,
            storage_class=settings.storage_class,
            multipart_threshold=settings.multipart_threshold_bytes,
            multipart_part_size=settings.multipart_part_size_bytes,
            sha256_checksums=request_checksums == WHEN_SUPPORTED,
        )
        self._botocore_config = Config(
            retries={"mode": "standard", "max_attempts": settings.max_attempts},
            connect_timeout=settings.connect_timeout_seconds,
            read_timeout=settings.read_timeout_seconds,
            # One connection per concurrent upload (upload_pool.py), at least botocore's 10.
            max_pool_connections=max(10, settings.max_concurrent_uploads),
            request_checksum_calculation=request_checksums,
            response_checksum_validation=response_checksums,
        )
        self.max_retry_seconds = float(settings.max_retry_seconds)
        #: False once the store refused ``If-None-Match`` (see the module docstring).
        self.conditional = True
        self._renewing = threading.Lock()
        self.session, self.client = self._new_client()

    def _new_client(self) -> tuple[boto3.Session, Any]:
        """A session and S3 client; refreshable credentials are fetched on first use."""
        session = build_session(self._s3_settings)
        client = build_client(
            session,
            "s3",
            region=self._s3_settings.region,
            endpoint_url=self._s3_settings.endpoint_url,
            config=self._botocore_config,
            verify=self._s3_settings.ssl_verify,
        )
        return session, client

    def put(self, key: str, body: IO[bytes], content_type: str) -> str:
        """Upload one object from a rewound file; returns ``s3://bucket/key``.

        A retried upload counts as botocore's retries do for conditional writes: a
        412 then means an earlier try stored the object.

        Raises:
            UploadError: with a one-line reason once retries are exhausted.
        """
        started = time.monotonic()
        failures = 0
        renewed = False
        while True:
            try:
                self._put_once(key, body, content_type, retried=failures > 0 or renewed)
            except CredentialsError as exc:
                raise UploadError(str(exc)) from None
            except (ClientError, BotoCoreError) as exc:
                failure = classify(exc)
                if failure is Failure.EXPIRED_CREDENTIALS and not renewed:
                    # S3 says they expired, whatever their local expiry time says: renew them.
                    LOGGER.warning("S3 says the credentials expired: renewing them and retrying")
                    renewed = True
                    with self._renewing:  # uploads run concurrently: one renewal at a time
                        self.session, self.client = self._new_client()
                    continue
                failures += 1
                pause = pause_after(failures)
                waited = time.monotonic() - started
                retryable = failure in {Failure.TRANSIENT, Failure.SKEWED_CLOCK}
                if not retryable or waited + pause > self.max_retry_seconds:
                    raise UploadError(self._final_line(exc, failure, key, waited)) from None
                LOGGER.warning(
                    "Upload of %s failed (%s): retrying in %.0f s (%.0f s of max_retry_seconds "
                    "%.0f used)",
                    key,
                    _short(exc),
                    pause,
                    waited,
                    self.max_retry_seconds,
                )
                time.sleep(pause)
            except OSError as exc:  # a credential file (web identity token) gone missing
                # After the botocore clause: botocore's SSLError and ConnectionError are
                # OSErrors too (through requests), and must be described as S3 failures.
                if exc.errno in NO_ROOM_ERRNOS or exc.filename is None:
                    raise
                raise UploadError(describe_credential_file_error(exc)) from None
            else:
                return f"s3://{self.settings.bucket}/{key}"

    def _final_line(self, exc: Exception, failure: Failure, key: str, waited: float) -> str:
        if failure is Failure.SKEWED_CLOCK:
            return skew_line(exc, waited)
        line = describe_s3_error(exc, self.settings.bucket, key)
        if failure is Failure.TRANSIENT and waited >= 1:
            budget = self.max_retry_seconds
            return f"{line}; S3 kept failing for {waited:.0f} s (max_retry_seconds: {budget:.0f})"
        return line

    def _put_once(self, key: str, body: IO[bytes], content_type: str, *, retried: bool) -> None:
        body.seek(0, 2)
        size = body.tell()
        body.seek(0)
        if size > self.settings.multipart_threshold:
            self._put_multipart(key, body, content_type, retried=retried)
        else:
            self._conditionally(
                lambda condition: self._put_object(key, body, size, content_type, condition),
                retried=retried,
            )

    def _whole_checksum(self, body: IO[bytes]) -> dict[str, str]:
        if self.settings.sha256_checksums:
            return {"ChecksumAlgorithm": "SHA256", "ChecksumSHA256": file_sha256_b64(body)}
        return {"ContentMD5": file_digest_b64(body, "md5")}

    def _put_object(
        self, key: str, body: IO[bytes], size: int, content_type: str, condition: dict[str, Any]
    ) -> None:
        body.seek(0)
        self.client.put_object(
            Bucket=self.settings.bucket,
            Key=key,
            Body=body,
            ContentLength=size,
            ContentType=content_type,
            **self._whole_checksum(body),
            **condition,
            **self.settings.extra_args(),
        )

    def _conditionally(
        self, request: Callable[[dict[str, Any]], None], *, retried: bool = False
    ) -> None:
        """Make a writing request with ``If-None-Match: *``; see the module docstring.

        ``retried``: an earlier try of this upload failed, and may have stored it.
        """
        if not self.conditional:
            request({})
            return
        try:
            request({"IfNoneMatch": "*"})
        except ClientError as exc:
            if condition_refused(exc):
                self.conditional = False
                LOGGER.warning(
                    "The S3 endpoint does not support conditional writes (If-None-Match): "
                    "uploading without them; a retried upload may then store a second copy"
                )
                request({})
            elif precondition_failed(exc):
                if not (retried or was_retried(exc)):
                    request({})  # the key held an object before: a re-sent scan replaces it
                # else: an earlier attempt of this request stored the object.
            else:
                raise

    def _put_multipart(
        self, key: str, body: IO[bytes], content_type: str, *, retried: bool = False
    ) -> None:
        """Multipart upload, one part in memory at a time; aborted on failure."""
        bucket = self.settings.bucket
        sha256 = self.settings.sha256_checksums
        created = self.client.create_multipart_upload(
            Bucket=bucket,
            Key=key,
            ContentType=content_type,
            **({"ChecksumAlgorithm": "SHA256"} if sha256 else {}),
            **self.settings.extra_args(),
        )
        upload_id = created["UploadId"]
        parts: list[Any] = []
        try:
            number = 1
            while chunk := body.read(self.settings.multipart_part_size):
                checksum = (
                    {"ChecksumAlgorithm": "SHA256", "ChecksumSHA256": sha256_b64(chunk)}
                    if sha256
                    else {"ContentMD5": md5_b64(chunk)}
                )
                response = self.client.upload_part(
                    Bucket=bucket,
                    Key=key,
                    UploadId=upload_id,
                    PartNumber=number,
                    Body=chunk,
                    **checksum,
                )
                part = {"ETag": response["ETag"], "PartNumber": number}
                if sha256:
                    part["ChecksumSHA256"] = checksum["ChecksumSHA256"]
                parts.append(part)
                number += 1
            self._conditionally(
                lambda condition: self.client.complete_multipart_upload(
                    Bucket=bucket,
                    Key=key,
                    UploadId=upload_id,
                    MultipartUpload={"Parts": parts},
                    **condition,
                ),
                retried=retried,
            )
        except BaseException:
            # s3:AbortMultipartUpload may not be granted; a lifecycle rule cleans up then.
            with contextlib.suppress(ClientError, BotoCoreError):
                self.client.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id)
            raise


def _status(exc: ClientError) -> int:
    return int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)


def precondition_failed(exc: ClientError) -> bool:
    """Whether S3 refused a conditional write because the key holds an object."""
    code = exc.response.get("Error", {}).get("Code", "")
    return code == "PreconditionFailed" or _status(exc) == 412


def was_retried(exc: ClientError) -> bool:
    """Whether botocore sent the request more than once before this answer."""
    return int(exc.response.get("ResponseMetadata", {}).get("RetryAttempts") or 0) > 0


def condition_refused(exc: ClientError) -> bool:
    """Whether the store does not implement ``If-None-Match`` on writes."""
    error = exc.response.get("Error", {})
    code = str(error.get("Code", ""))
    if code in CONDITION_REFUSED_CODES or _status(exc) == 501:
        return True
    message = str(error.get("Message", "")).lower()
    return code in {"InvalidArgument", "InvalidRequest"} and "if-none-match" in message


ChecksumMode = Literal["when_supported", "when_required"]
WHEN_SUPPORTED: ChecksumMode = "when_supported"
WHEN_REQUIRED: ChecksumMode = "when_required"
CHECKSUM_MODES = (WHEN_SUPPORTED, WHEN_REQUIRED)


def checksum_settings(settings: S3Settings) -> tuple[ChecksumMode, ChecksumMode]:
    """Botocore's ``request_checksum_calculation`` and ``response_checksum_validation``.

    Since botocore 1.36 both default to ``when_supported``: every request carries
    a CRC checksum (in a trailer on streamed bodies), which several S3-compatible
    stores refuse (older MinIO, Backblaze B2, Ceph RGW).  So with ``endpoint_url``
    both default to ``when_required``, and uploads carry ``Content-MD5`` (which
    they all check) instead of a SHA-256 checksum; on AWS, SHA-256 as before.
    """
    default = WHEN_REQUIRED if settings.endpoint_url else WHEN_SUPPORTED
    request = settings.request_checksum_calculation or default
    response = settings.response_checksum_validation or default
    return (
        WHEN_REQUIRED if request == WHEN_REQUIRED else WHEN_SUPPORTED,
        WHEN_REQUIRED if response == WHEN_REQUIRED else WHEN_SUPPORTED,
    )


def describe_credential_file_error(exc: OSError) -> str:
    """A credential file named by the environment that cannot be read, as one line."""
    path = exc.filename
    if path and path == os.environ.get("AWS_WEB_IDENTITY_TOKEN_FILE"):
        return (
            f"the web identity token file {path} (AWS_WEB_IDENTITY_TOKEN_FILE) cannot be read "
            f"({exc.strerror}): mount the OIDC token there (EKS: the pod's service account "
            "token volume), or unset AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ROLE_ARN"
        )
    return (
        f"the AWS credentials could not be read from {path} ({exc.strerror}): check the "
        "AWS_* environment variables and credential files"
    )


def _short(exc: Exception) -> str:
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        return f"{error.get('Code', '')} {error.get('Message', '')}".strip()
    return one_line(str(exc))[:200]


S3_CODE_HINTS = {
    "NoSuchBucket": "bucket {bucket} does not exist (check the bucket and region settings)",
    "InvalidAccessKeyId": "the AWS access key id is not known to S3 (check the credentials)",
    "SignatureDoesNotMatch": "the AWS secret access key does not match the key id",
    "ExpiredToken": "the AWS session token has expired (refresh the credentials)",
    "InvalidToken": "the AWS session token is invalid (refresh the credentials)",
    "KMS.AccessDeniedException": (
        "KMS denied the key for s3://{bucket}/{key}: grant kms:GenerateDataKey on sse_kms_key_id"
    ),
    "KMS.NotFoundException": "sse_kms_key_id does not name a KMS key S3 can use",
    "PermanentRedirect": "bucket {bucket} is in another region: set region",
    "AuthorizationHeaderMalformed": "the region setting does not match bucket {bucket}",
    "InvalidStorageClass": "storage_class is not a storage class S3 accepts",
    "InvalidArgument": "S3 refused s3://{bucket}/{key}: InvalidArgument {detail}",
}


def describe_s3_error(exc: Exception, bucket: str, key: str) -> str:
    """Turn a boto error into one line that says what is wrong and what to change."""
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        code = str(error.get("Code", ""))
        detail = str(error.get("Message", ""))
        if code in {"AccessDenied", "403", "Forbidden", "AllAccessDisabled"}:
            if "kms" in detail.lower():
                return (
                    f"KMS denied encrypting s3://{bucket}/{key}: grant kms:GenerateDataKey "
                    "on sse_kms_key_id to this identity"
                )
            prefix = key.split("/", 1)[0]
            return (
                f"s3:PutObject is denied on {bucket}/{prefix}*: grant s3:PutObject on "
                f"arn:aws:s3:::{bucket}/{prefix}* to this identity (S3 said: {detail or code})"
            )
        hint = S3_CODE_HINTS.get(code)
        if hint:
            return hint.format(bucket=bucket, key=key, detail=detail)
        return f"S3 refused s3://{bucket}/{key}: {code} {detail}".strip()
    if isinstance(exc, EndpointConnectionError | ConnectionClosedError):
        return f"S3 endpoint unreachable after retries: {exc} (check endpoint_url, region, network)"
    if isinstance(exc, NoCredentialsError | PartialCredentialsError):
        return (
            "no AWS credentials found: set aws_access_key_id/aws_secret_access_key, "
            "aws_profile or role_arn, or configure the default credential chain"
        )
    return f"upload of s3://{bucket}/{key} failed: {exc}"
