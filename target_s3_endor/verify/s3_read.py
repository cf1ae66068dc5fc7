"""The read side of S3 for ``--verify``: a client with the target's credentials settings.

Same auth as the writer (keys, profile, assumed role, web identity), so an
auditor points ``--verify`` at a config naming a read role; only
``s3:ListBucket`` and ``s3:GetObject`` are ever used.  Errors become one line
naming the permission, like the writer's.
"""

from __future__ import annotations

from typing import Any

from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from target_s3_endor.settings.model import TargetSettings
from target_s3_endor.storage.region import build_client
from target_s3_endor.storage.transport import build_session, quiet_aws_debug_logs

ABSENT_CODES = frozenset({"NoSuchKey", "404", "NotFound"})
DENIED_CODES = frozenset({"AccessDenied", "403", "Forbidden", "AllAccessDisabled"})


def read_client(settings: TargetSettings) -> Any:
    """A boto3 S3 client for reading the bucket the settings name."""
    quiet_aws_debug_logs()
    botocore_config = Config(
        retries={"mode": "standard", "max_attempts": settings.max_attempts},
        connect_timeout=settings.connect_timeout_seconds,
        read_timeout=settings.read_timeout_seconds,
    )
    return build_client(
        build_session(settings),
        "s3",
        region=settings.region,
        endpoint_url=settings.endpoint_url,
        config=botocore_config,
        verify=settings.ssl_verify,
    )


def error_code(exc: ClientError) -> str:
    """The S3 error code of a refused request."""
    return str(exc.response.get("Error", {}).get("Code", ""))


def describe_read_error(exc: Exception, bucket: str, action: str, where: str) -> str:
    """One line: which read permission is missing, or what else went wrong."""
    if isinstance(exc, ClientError):
        code = error_code(exc)
        detail = str(exc.response.get("Error", {}).get("Message", ""))
        if code in DENIED_CODES:
            return (
                f"{action} is denied on {where}: --verify needs s3:ListBucket on "
                f"arn:aws:s3:::{bucket} and s3:GetObject on arn:aws:s3:::{bucket}/* "
                f"(the README's read policy) (S3 said: {detail or code})"
            )
        if code == "NoSuchBucket":
            return f"bucket {bucket} does not exist (check the bucket and region settings)"
        return f"S3 refused {action} on {where}: {code} {detail}".strip()
    if isinstance(exc, BotoCoreError):
        return f"S3 could not be read ({action} on {where}): {exc}"
    return f"{action} on {where} failed: {exc}"
