"""Where the target sends AWS credentials: ``endpoint_url`` and ``sts_endpoint_url`` checked.

* userinfo (``http://user:pw@host``) is refused in both: S3 and STS requests are
  signed (SigV4) and never use it, and botocore's connection errors print the
  whole URL, so the password reached the error line;
* ``sts_endpoint_url`` over plain http to another machine is refused: STS answers
  an AssumeRole with temporary credentials (the secret key among them) in the body;
* ``endpoint_url`` over plain http to another machine is allowed, with a warning:
  S3-compatible stores on a private network often speak only http, and a SigV4
  request carries a signature, not the secret key; but the records, and a session
  token when static temporary credentials are set, cross the network in clear.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from connector_common.urls import has_userinfo, plain_http_elsewhere
from target_s3_endor.errors import SettingsError

logger = logging.getLogger("target-s3-endor")


def _origin(url: str) -> str:
    """``scheme://host:port`` of a URL, without its userinfo, for an error line."""
    parts = urlsplit(url)
    host = parts.hostname or "?"
    try:
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        port = ""
    return f"{parts.scheme}://{host}{port}"


def check_endpoints(config: Mapping[str, Any]) -> None:
    """Refuse an endpoint that would expose credentials; warn about plain-http S3.

    Raises:
        SettingsError: naming the setting (its origin only) and what to write instead.
    """
    for setting in ("endpoint_url", "sts_endpoint_url"):
        url = str(config.get(setting) or "")
        if url and has_userinfo(url):
            msg = (
                f"{setting} for {_origin(url)} holds a user name or password (user:pw@host): "
                "remove it; AWS requests are signed with the AWS credentials settings"
            )
            raise SettingsError(msg)
    sts = str(config.get("sts_endpoint_url") or "")
    if sts and plain_http_elsewhere(sts):
        msg = (
            f"sts_endpoint_url {_origin(sts)} is plain http to another machine: STS answers with "
            "temporary credentials that would cross the network in clear; use https://"
        )
        raise SettingsError(msg)
    s3 = str(config.get("endpoint_url") or "")
    if s3 and plain_http_elsewhere(s3):
        logger.warning(
            "endpoint_url %s is plain http to another machine: records (and a session token, "
            "if aws_session_token is set) cross the network unencrypted; use https:// unless "
            "the network between the target and the store is trusted",
            _origin(s3),
        )
