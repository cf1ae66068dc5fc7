"""Errors the target reports as one plain line, without a traceback.

Each error's text is written for the person running the pipeline: it names the
setting, record or permission involved and what to do about it, and never holds
a secret.  ``TargetS3Endor.invoke`` turns any of them into a single log line and
exit status 1, so a failed upload can never be followed by a STATE line.
"""

from __future__ import annotations


class TargetS3EndorError(Exception):
    """Base class: an expected failure with a message meant for the operator."""


class SettingsError(TargetS3EndorError):
    """A setting is missing, contradicts another one or cannot be used."""


class BadInputError(TargetS3EndorError):
    """A Singer message the target cannot accept (malformed, out of order, invalid)."""


class UploadError(TargetS3EndorError):
    """An object could not be written to S3 even after the bounded retries."""


class CredentialsError(TargetS3EndorError):
    """AWS credentials could not be obtained (role trust, token file, profile)."""
