"""What the S3 side reads of the target's settings: a protocol, so storage imports no settings.

``settings/model.py:TargetSettings`` (built once by the target) is one; storage sits
below ``settings/`` in the import layers (pyproject's ``[tool.importlinter]``), so it
names the settings it needs here instead of importing the model.  Read-only
properties, because the model is frozen.
"""

from __future__ import annotations

from typing import Protocol


class S3Settings(Protocol):
    """The settings ``transport.py`` and the ``--verify`` reader use (see ``--about``)."""

    @property
    def bucket(self) -> str:
        """The bucket's name."""

    @property
    def region(self) -> str | None:
        """The bucket's region; None: the credential chain's."""

    @property
    def endpoint_url(self) -> str | None:
        """An S3-compatible endpoint; None: AWS."""

    @property
    def aws_access_key_id(self) -> str | None:
        """Static credentials; None: the credential chain."""

    @property
    def aws_secret_access_key(self) -> str | None:
        """Goes with aws_access_key_id."""

    @property
    def aws_session_token(self) -> str | None:
        """For temporary static credentials."""

    @property
    def aws_profile(self) -> str | None:
        """A profile in the AWS config files."""

    @property
    def role_arn(self) -> str | None:
        """A role to assume; None: none."""

    @property
    def external_id(self) -> str | None:
        """Sts:ExternalId for role_arn."""

    @property
    def web_identity_token_file(self) -> str | None:
        """An OIDC token file for role_arn."""

    @property
    def sts_endpoint_url(self) -> str | None:
        """A non-default STS endpoint."""

    @property
    def role_duration_seconds(self) -> int:
        """Seconds an assumed-role session lasts."""

    @property
    def server_side_encryption(self) -> str | None:
        """AES256 or aws:kms; None: the bucket's default."""

    @property
    def sse_kms_key_id(self) -> str | None:
        """The KMS key for aws:kms."""

    @property
    def storage_class(self) -> str | None:
        """None: STANDARD."""

    @property
    def multipart_threshold_bytes(self) -> int:
        """Bytes above which an object goes up in parts."""

    @property
    def multipart_part_size_bytes(self) -> int:
        """Bytes per part."""

    @property
    def max_attempts(self) -> int:
        """Tries per S3 request (botocore's retries)."""

    @property
    def max_retry_seconds(self) -> int:
        """Seconds a failing upload is retried past them."""

    @property
    def connect_timeout_seconds(self) -> float:
        """Seconds."""

    @property
    def read_timeout_seconds(self) -> float:
        """Seconds."""

    @property
    def max_concurrent_uploads(self) -> int:
        """Objects uploading at once (one connection each)."""

    @property
    def request_checksum_calculation(self) -> str | None:
        """None: by endpoint (checksum_settings)."""

    @property
    def response_checksum_validation(self) -> str | None:
        """None: by endpoint (checksum_settings)."""

    @property
    def ssl_verify(self) -> bool:
        """Whether TLS certificates are checked."""
