"""URL facts both plugins check before sending credentials: loopback hosts and userinfo."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback addresses (127.0.0.0/8, ::1): this machine."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def has_userinfo(url: str) -> bool:
    """True when the URL names a user or password (``https://user:pw@host``)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.username is not None or parts.password is not None or "@" in parts.netloc


def plain_http_elsewhere(url: str) -> bool:
    """True for an ``http://`` URL whose host is not this machine."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.scheme.lower() == "http" and not is_loopback(parts.hostname or "")
