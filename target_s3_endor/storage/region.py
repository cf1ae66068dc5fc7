"""A region botocore takes, and a one-line error naming where a refused one came from.

botocore refuses a region that is not a host label (``botocore.utils.validate_region_name``:
at most 63 letters, digits and hyphens, not all digits, no hyphen at either end) when a
client is built, with an ``InvalidRegionError`` traceback.  The ``region`` setting is
checked against botocore's own validator at start (``settings/limits.py``); a region
the credential chain gives (``AWS_DEFAULT_REGION``, the profile's ``region`` in the AWS
config file) is only known when boto3 builds a client, so every client is built here.
"""

from __future__ import annotations

import os
from typing import Any

import boto3
from botocore.exceptions import InvalidRegionError
from botocore.utils import validate_region_name

from target_s3_endor.errors import SettingsError

RULE = "at most 63 letters, digits and hyphens, not starting or ending with a hyphen"


def botocore_takes(region: str) -> bool:
    """Whether botocore builds a client for this region (its own validator, no newline)."""
    if not region or "\n" in region:
        return False  # botocore's ``$`` lets a trailing newline through; a request does not
    try:
        validate_region_name(region)
    except InvalidRegionError:
        return False
    return True


def region_source(session: boto3.Session, configured: str | None) -> str:
    """Where the region a client was given comes from, for the error line."""
    if configured:
        return "the region setting"
    if os.environ.get("AWS_DEFAULT_REGION"):
        return "AWS_DEFAULT_REGION"
    profile = session.profile_name
    return f"the region of AWS profile {profile!r} in the AWS config file"


def build_client(session: boto3.Session, service: str, *, region: str | None, **kwargs: Any) -> Any:
    """``session.client(service, ...)``, a region botocore refuses becoming one SettingsError."""
    try:
        return session.client(service, region_name=region, **kwargs)  # type: ignore[call-overload]
    except InvalidRegionError:
        used = region or session.region_name or ""
        msg = (
            f"region {used[:70]!r} (from {region_source(session, region)}) is not a region "
            f"botocore takes ({RULE}): set the region setting to the bucket's region"
        )
        raise SettingsError(msg) from None
