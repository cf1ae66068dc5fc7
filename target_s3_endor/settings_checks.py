"""Settings the target only meets deep in a run, checked up front: URLs, region, spool_dir.

botocore raises ``ValueError`` (and ``InvalidRegionError``) for an endpoint or
region it cannot use when the first client is created, and a missing
``spool_dir`` fails at the first batch; the CLI printed each as a traceback.
The same checks (botocore's own for URLs and regions) run with the other
settings checks and name the setting instead.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from botocore.exceptions import InvalidRegionError
from botocore.utils import is_valid_endpoint_url, is_valid_ipv6_endpoint_url, validate_region_name

from target_s3_endor.errors import SettingsError

URL_SETTINGS = ("endpoint_url", "sts_endpoint_url")


def check_endpoints(config: Mapping[str, Any]) -> None:
    """Reject an endpoint URL, role ARN or region AWS would refuse, naming the setting.

    Raises:
        SettingsError: for the first unusable endpoint_url, sts_endpoint_url, role_arn or region.
    """
    for name in URL_SETTINGS:
        url = config.get(name)
        if url and not (is_valid_endpoint_url(url) or is_valid_ipv6_endpoint_url(url)):
            msg = (
                f"{name} {str(url)[:100]!r} is not a URL: give its scheme and host, "
                "for example https://s3.us-east-1.amazonaws.com or http://localhost:9000"
            )
            raise SettingsError(msg)
    role = config.get("role_arn")
    if role and not (str(role).startswith("arn:") and ":role/" in str(role)):
        msg = (
            f"role_arn {str(role)[:100]!r} is not an IAM role ARN: "
            "for example arn:aws:iam::123456789012:role/EndorExportWriter"
        )
        raise SettingsError(msg)
    region = config.get("region")
    if region:
        try:
            validate_region_name(region)
        except InvalidRegionError:
            msg = f"region {str(region)[:100]!r} is not an AWS region name: for example us-east-1"
            raise SettingsError(msg) from None


def check_spool_dir(config: Mapping[str, Any]) -> None:
    """Reject a spool_dir that is not a writable directory.

    Raises:
        SettingsError: naming spool_dir.
    """
    folder = config.get("spool_dir")
    if folder and not (Path(folder).is_dir() and os.access(folder, os.W_OK | os.X_OK)):
        msg = (
            f"spool_dir {str(folder)[:200]!r} is not a writable directory: create it, "
            "or leave spool_dir unset for the system temporary directory"
        )
        raise SettingsError(msg)
