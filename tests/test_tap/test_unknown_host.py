"""A mistyped API host: said at once, not after the whole retry budget of quiet retries.

``api.endorlabs.invalid`` (RFC 2606: ``.invalid`` never resolves, and the resolver
says so without asking the network) was retried for ``retry_budget_seconds``
(300 s) before the user heard of it.  Now, before the API ever answered, a
resolver's "no such name" ends the run at once with a line naming the host and
``api_url``; a name failure that may pass ("could not ask", or "no such name"
after the API answered: a DNS hiccup mid-run) is retried, warning from its
first retry on.
"""

from __future__ import annotations

import logging
import socket
from urllib.parse import urlsplit

import pytest
import requests
from urllib3.connection import HTTPSConnection
from urllib3.exceptions import MaxRetryError, NameResolutionError

from tap_endorlabs.api import EndorApi, Subject
from tap_endorlabs.auth import EndorAuthenticator
from tap_endorlabs.errors import FatalTapError
from tap_endorlabs.host_names import ENDOR_HOSTS, Unresolved, unresolved
from tap_endorlabs.retry import RetryPolicy
from tap_endorlabs.settings import DEFAULT_API_URL
from tests.test_tap.tap_runner import run_tap_in_process, tap_config

HOST = "api.endorlabs.invalid"
UNKNOWN_HOST_LINE = (
    f"tap-endorlabs: error: api_url's host '{HOST}' does not exist (the DNS resolver answered "
    "[Errno "
)


@pytest.mark.parametrize(
    "credentials",
    [
        pytest.param({}, id="token-exchange"),
        pytest.param({"api_key": None, "api_secret": None, "token": "a.b"}, id="preflight-probe"),
    ],
)
def test_an_api_url_host_that_does_not_exist_ends_the_run_at_once(credentials: dict) -> None:
    """The first request (the token exchange, or the preflight with a fixed token) names it."""
    config = tap_config(f"https://{HOST}", retry_budget_seconds=20, **credentials)
    run = run_tap_in_process(config)
    assert run.returncode == 1
    assert "Traceback" not in run.stderr
    last = run.stderr.strip().splitlines()[-1]
    assert last.startswith(UNKNOWN_HOST_LINE), run.stderr[-2000:]
    assert last.endswith("fix api_url (Endor Labs' API is https://api.endorlabs.com).")
    assert "Retrying" not in run.stderr  # given up at the first answer, not after the budget
    assert not run.messages


def name_failure(code: int, text: str) -> requests.exceptions.ConnectionError:
    """A failed name lookup, wrapped as requests wraps it (urllib3 2)."""
    answer = socket.gaierror(code, text)
    failure = NameResolutionError(HOST, HTTPSConnection(HOST, 443), answer)
    failure.__cause__ = answer
    return requests.exceptions.ConnectionError(MaxRetryError(None, "/v1/auth/api-key", failure))


def test_a_name_that_could_not_be_looked_up_is_a_warning_at_the_first_retry(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """No DNS server reachable (EAI_AGAIN) may pass: retried, but said from the first retry."""
    caplog.set_level(logging.DEBUG, logger="unknown-host")
    error = name_failure(socket.EAI_AGAIN, "Temporary failure in name resolution")
    found = unresolved(error)
    assert found is not None and found.host == HOST and not found.no_such_name
    attempts: list[int] = []

    def call() -> None:
        attempts.append(1)
        raise error

    policy = RetryPolicy(budget_seconds=0.3, logger=logging.getLogger("unknown-host"))
    with pytest.raises(requests.exceptions.ConnectionError):
        policy.run(call, retriable=(requests.exceptions.ConnectionError,), what="the exchange")
    assert len(attempts) >= 3  # retried as any failure that may pass
    first = caplog.records[0]
    assert first.levelno == logging.WARNING  # not one of the quiet first retries
    assert "after attempt 1 (api_url's host 'api.endorlabs.invalid' did not resolve: " in (
        first.getMessage()
    )
    assert "[Errno -3] Temporary failure in name resolution" in first.getMessage()


def test_no_such_name_after_the_api_answered_is_retried_as_a_hiccup(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Mid-run (the API answered before) the same answer is retried for the budget."""
    caplog.set_level(logging.DEBUG, logger="unknown-host")
    policy = RetryPolicy(budget_seconds=0.5, logger=logging.getLogger("unknown-host"))
    url = f"https://{HOST}"
    api = EndorApi(
        api_url=url,
        authenticator=EndorAuthenticator(api_url=url, token="a.b", retry=policy),
        request_timeout=5,
        user_agent="test",
        retry=policy,
    )
    api.answered = True  # as after the preflight
    with pytest.raises(FatalTapError) as failed:
        api.get_json("/v1/namespaces/acme/audit-logs", {}, subject=Subject("audit_logs", "acme"))
    retries = [r for r in caplog.records if r.getMessage().startswith("Retrying audit_logs")]
    assert len(retries) >= 2
    assert all(r.levelno == logging.WARNING for r in retries)
    assert f"(api_url's host '{HOST}' did not resolve: [Errno " in str(failed.value)
    assert "could not be read for audit_logs in namespace 'acme'" in str(failed.value)
    assert "retry_budget_seconds: 0.5" in str(failed.value)


@pytest.mark.parametrize(
    "credentials",
    [
        pytest.param({}, id="token-exchange"),
        pytest.param({"api_key": None, "api_secret": None, "token": "a.b"}, id="preflight-probe"),
    ],
)
def test_a_proxy_host_that_does_not_exist_is_named_as_the_proxy(credentials: dict) -> None:
    """Behind ``HTTPS_PROXY`` the name that fails is the proxy's: the line names the proxy."""
    proxy = "http://proxy.endorlabs.invalid:3128"
    config = tap_config("https://api.endorlabs.com", retry_budget_seconds=20, **credentials)
    run = run_tap_in_process(config, env={"HTTPS_PROXY": proxy, "https_proxy": proxy})
    assert run.returncode == 1
    last = run.stderr.strip().splitlines()[-1]
    assert last.startswith(
        "tap-endorlabs: error: the proxy's host (HTTPS_PROXY) 'proxy.endorlabs.invalid' does "
        "not exist (the DNS resolver answered [Errno "
    ), run.stderr[-2000:]
    assert last.endswith("fix HTTPS_PROXY (or HTTP_PROXY, NO_PROXY).")
    assert "api_url" not in last


@pytest.mark.parametrize("credentials", ["exchange", "preflight"])
def test_endor_labs_own_host_that_does_not_resolve_is_blamed_on_dns_and_retried(
    credentials: str, caplog: pytest.LogCaptureFixture
) -> None:
    """The default host is no typo: retried (warning from the first retry), then a DNS line.

    The resolver's "no such name" for api.endorlabs.com (a machine without DNS for the
    internet) ended the run at once with "fix api_url (Endor Labs' API is
    https://api.endorlabs.com)", to a user who had set exactly that.  Here the
    ``.invalid`` name (it never resolves) stands for Endor Labs' own host.
    """
    caplog.set_level(logging.DEBUG, logger="unknown-host")
    policy = RetryPolicy(budget_seconds=0.5, logger=logging.getLogger("unknown-host"))
    url = f"https://{HOST}"
    own = frozenset({HOST})
    fixed = {"token": "a.b"} if credentials == "preflight" else {"api_key": "k", "api_secret": "s"}
    authenticator = EndorAuthenticator(api_url=url, retry=policy, own_hosts=own, **fixed)
    api = EndorApi(
        api_url=url,
        authenticator=authenticator,
        request_timeout=5,
        user_agent="test",
        retry=policy,
        own_hosts=own,
    )
    with pytest.raises(FatalTapError) as failed:
        api.get_json("/v1/namespaces/acme/audit-logs", {}, subject=Subject("audit_logs", "acme"))
    retries = [r for r in caplog.records if r.getMessage().startswith("Retrying")]
    assert len(retries) >= 2  # not given up at once
    assert retries[0].levelno == logging.WARNING  # said from the first retry on
    line = str(failed.value)
    assert line.startswith(
        f"this machine's resolver says api_url's host '{HOST}' does not exist ([Errno "
    ), line
    assert line.endswith("but it is Endor Labs' API: check DNS or set HTTPS_PROXY.")
    assert "fix api_url" not in line


def test_the_default_api_url_is_endor_labs_own_host() -> None:
    """What the test above stands in for: the default api_url's host is in ``ENDOR_HOSTS``."""
    assert urlsplit(DEFAULT_API_URL).hostname in ENDOR_HOSTS
    found = Unresolved(
        "api.endorlabs.com", socket.EAI_NONAME, "[Errno -2] Name or service not known"
    )
    assert found.no_such_name
    assert found.fatal_line(DEFAULT_API_URL).startswith("this machine's resolver says")
    assert (
        Unresolved("api.endorlab.com", socket.EAI_NONAME, "x")
        .fatal_line(DEFAULT_API_URL)
        .endswith("fix api_url (Endor Labs' API is https://api.endorlabs.com).")
    )
