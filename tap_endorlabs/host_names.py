"""A host name that did not resolve: which host, and whether the resolver says it does not exist.

A mistyped ``api_url`` (``https://api.endorlab.com``) failed like a network blip:
``requests`` wraps the resolver's answer three exceptions deep, and the tap
retried it quietly for ``retry_budget_seconds`` (300 s) before it said anything.
Here that answer is dug out, so the retry policy can name the host and the
setting on the first retry, and the tap can give up at once where waiting
cannot help: a resolver that answers "no such name" (``EAI_NONAME``, or
``EAI_NODATA``: the name has no address) before the API ever answered is a
typo, not a blip.  "Could not ask" (``EAI_AGAIN``: no DNS server reachable, a
container whose network is not up yet) may pass, and a "no such name" in the
middle of a run, after the host answered, is a DNS hiccup: both are retried.

Endor Labs' own host (``ENDOR_HOSTS``: the default api_url's) is no typo: a
resolver that says it does not exist is wrong (a machine without DNS for the
internet, a resolver outage).  It is retried for the budget, as a warning from
the first retry on, and the line at the end points at DNS and the proxy; it
used to say "fix api_url (Endor Labs' API is https://api.endorlabs.com)" to a
user who had set exactly that.
"""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator
from dataclasses import dataclass

from urllib3.exceptions import NameResolutionError, ProxyError

#: ``getaddrinfo`` answers that mean the name has no address, as opposed to "could not ask".
NO_SUCH_NAME = frozenset(
    code
    for code in (getattr(socket, "EAI_NONAME", None), getattr(socket, "EAI_NODATA", None))
    if code is not None
)
#: Endor Labs' own API hosts: a resolver's "no such name" for one is the resolver's fault.
ENDOR_HOSTS = frozenset({"api.endorlabs.com"})
_HOST_IN_TEXT = re.compile(r"Failed to resolve '([^']+)'")


@dataclass(frozen=True)
class Unresolved:
    """A host name the resolver gave no address for."""

    host: str
    #: ``getaddrinfo``'s code (``socket.EAI_*``), when known.
    code: int | None
    #: What the resolver said: ``[Errno -2] Name or service not known``.
    reason: str
    #: The host is the proxy's (``HTTPS_PROXY``), not api_url's.
    proxy: bool = False

    @property
    def no_such_name(self) -> bool:
        """True when the resolver says the name does not exist (not that it could not ask)."""
        return self.code in NO_SUCH_NAME

    @property
    def whose(self) -> str:
        """The setting that names the host."""
        return "the proxy's host (HTTPS_PROXY)" if self.proxy else "api_url's host"

    def describe(self) -> str:
        """How a retry line or an error line names it: the host, the setting, the answer."""
        return f"{self.whose} '{self.host}' did not resolve: {self.reason}"

    def is_own(self, own_hosts: frozenset[str]) -> bool:
        """True for api_url's host when it is one of Endor Labs' own (``own_hosts``)."""
        return not self.proxy and self.host.lower().rstrip(".") in own_hosts

    def fatal_line(self, default_url: str, own_hosts: frozenset[str] = ENDOR_HOSTS) -> str:
        """The one line when the name does not exist before the API ever answered."""
        if self.is_own(own_hosts):
            return (
                f"this machine's resolver says {self.whose} '{self.host}' does not exist "
                f"({self.reason}), but it is Endor Labs' API: check DNS or set HTTPS_PROXY."
            )
        fix = (
            "fix HTTPS_PROXY (or HTTP_PROXY, NO_PROXY)"
            if self.proxy
            else f"fix api_url (Endor Labs' API is {default_url})"
        )
        return (
            f"{self.whose} '{self.host}' does not exist (the DNS resolver answered "
            f"{self.reason}): {fix}."
        )


def _linked(error: BaseException) -> Iterator[BaseException]:
    """``error`` and every exception it wraps (causes, contexts, ``reason``, arguments)."""
    seen: set[int] = set()
    waiting: list[object] = [error]
    while waiting:
        item = waiting.pop()
        if not isinstance(item, BaseException) or id(item) in seen:
            continue
        seen.add(id(item))
        yield item
        waiting += [item.__cause__, item.__context__, getattr(item, "reason", None), *item.args]


def unresolved(error: BaseException) -> Unresolved | None:
    """The host name behind a failed request that never got an address, else None."""
    proxy = any(isinstance(item, ProxyError) for item in _linked(error))
    for item in _linked(error):
        if isinstance(item, NameResolutionError):
            host = getattr(getattr(item, "conn", None), "host", None)
            if not host:
                found = _HOST_IN_TEXT.search(str(item))
                host = found.group(1) if found else "?"
            answer = next((e for e in _linked(item) if isinstance(e, socket.gaierror)), None)
            if answer is None:
                return Unresolved(str(host), None, "no address", proxy)
            return Unresolved(str(host), answer.errno, str(answer), proxy)
    return None


def no_such_name(error: BaseException, own_hosts: frozenset[str] = ENDOR_HOSTS) -> bool:
    """True when ``error`` is a resolver's "this name does not exist" for a name not Endor's.

    Endor Labs' own host (``own_hosts``) exists whatever the resolver says: retried.
    """
    found = unresolved(error)
    return found is not None and found.no_such_name and not found.is_own(own_hosts)
