"""The README says what the product does: its troubleshooting messages and its links.

A row's message ("..." stands for any text) must be found in text the code
produced: the error lines and warnings the bad-input catalogue asserts on real
runs (``bad_inputs.py``), the S3 and STS error descriptions for the AWS error
codes they name, and the log of a real tap run through API faults.
"""

from __future__ import annotations

import errno
import io
import os
import re
from types import SimpleNamespace

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from target_s3_endor.errors import BadInputError, no_room_line
from target_s3_endor.input.lines import InputLine, input_lines
from target_s3_endor.input.message_text import decode_message, ended_mid_message
from target_s3_endor.settings.model import TargetSettings
from target_s3_endor.storage.retry import Failure, skew_line
from target_s3_endor.storage.transport import (
    S3Writer,
    describe_credential_file_error,
    describe_s3_error,
    describe_sts_error,
)
from tests.support.servers import REPO_ROOT, start_emulator
from tests.test_pipeline.conftest import tap_config
from tests.test_reliability.bad_inputs import CATALOGUE
from tests.test_reliability.test_bad_inputs import says_matches
from tests.test_tap.tap_runner import run_tap_in_process


def troubleshooting_messages() -> list[str]:
    """The backquoted messages of the first column of the troubleshooting table."""
    text = (REPO_ROOT / "README.md").read_text()
    section = text.split("## Troubleshooting", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    assert len(rows) >= 10
    return [message for row in rows for message in re.findall(r"`([^`]+)`", row.split(" | ")[0])]


def aws_descriptions() -> list[str]:
    """What the target says for each AWS error code the table names."""

    def error(code: str, message: str = "") -> ClientError:
        return ClientError({"Error": {"Code": code, "Message": message}}, "PutObject")

    bucket, key = "my-bucket", "endor/x/acme/audit-logs/a.zip"
    role = {"bucket": bucket, "role_arn": "arn:aws:iam::1:role/r"}
    return [
        describe_s3_error(error("AccessDenied", "Access Denied"), bucket, key),
        describe_s3_error(error("AccessDenied", "not authorized for KMS key"), bucket, key),
        describe_s3_error(error("KMS.AccessDeniedException"), bucket, key),
        describe_s3_error(error("NoSuchBucket"), bucket, key),
        describe_s3_error(error("ExpiredToken"), bucket, key),
        describe_sts_error(
            error("AccessDenied", "not authorized"), TargetSettings.from_config(role)
        ),
        describe_sts_error(
            error("AccessDenied", "not authorized"),
            TargetSettings.from_config({**role, "web_identity_token_file": "/t"}),
        ),
        *(describe_s3_error(error(code), bucket, key) for code in STORE_CHECKSUM_CODES),
    ]


STORE_CHECKSUM_CODES = ("InvalidArgument", "NotImplemented", "XAmzContentSHA256Mismatch")


def final_upload_line(exc: Exception, failure: Failure, waited: float) -> str:
    """The line an upload ends with once ``max_retry_seconds`` is spent (S3Writer's own)."""
    writer = SimpleNamespace(settings=SimpleNamespace(bucket="my-bucket"), max_retry_seconds=180)
    return S3Writer._final_line(writer, exc, failure, "endor/x/a.zip", waited)  # type: ignore[arg-type]


def bad_input_line(read: object) -> str:
    try:
        read()  # type: ignore[operator]
    except BadInputError as exc:
        return str(exc)
    raise AssertionError("no BadInputError")


def target_descriptions() -> list[str]:
    """The target's one lines for S3 that keeps failing, a full spool and unreadable input."""
    skewed = ClientError(
        {
            "Error": {
                "Code": "RequestTimeTooSkewed",
                "RequestTime": "20261206T120000Z",
                "ServerTime": "2026-12-06T11:30:00Z",
            }
        },
        "PutObject",
    )
    slow = ClientError({"Error": {"Code": "SlowDown", "Message": "Reduce"}}, "PutObject")
    token = "/var/run/secrets/eks/token"
    os.environ["AWS_WEB_IDENTITY_TOKEN_FILE"] = token
    try:
        missing_token = describe_credential_file_error(
            FileNotFoundError(errno.ENOENT, "No such file or directory", token)
        )
    finally:
        del os.environ["AWS_WEB_IDENTITY_TOKEN_FILE"]
    long_third = b'{"type":"STATE"}\n' * 2 + b'{"type":"RECORD","stream":"findings"' + b" " * 99
    return [
        skew_line(skewed, 180),
        final_upload_line(
            EndpointConnectionError(endpoint_url="http://s3"), Failure.TRANSIENT, 181
        ),
        final_upload_line(slow, Failure.TRANSIENT, 181),
        missing_token,
        no_room_line(OSError(errno.ENOSPC, "No space left on device"), "/spool"),
        bad_input_line(lambda: list(input_lines(io.BytesIO(long_third), limit=40))),
        bad_input_line(lambda: decode_message("[" * 100_000 + "]" * 100_000)),
        ended_mid_message(InputLine(b'{"type":"RECORD","stream":"audit_logs"', 7, False)),
    ]


@pytest.fixture(scope="module")
def faulty_run_log() -> str:
    """The stderr of a tap run through a time-out, a rate limit and a failing API.

    An archived window that gets no answer in time (halved); three 429s in a row
    (the third retry is logged as a warning); an early 504 (retried as it is).
    """
    with start_emulator(
        *("--seed", "3", "--audit-logs", "200", "--slow-delay", "5"),
        *("--fault", "slow:x1:archived", "--fault", "429:x3", "--fault", "504:x1:audit-logs"),
    ) as server:
        # In-process: the tap's own log lines are compared, not its process.
        run = run_tap_in_process({**tap_config(server), "request_timeout": 1})
    assert run.returncode == 0, run.stderr[-2000:]
    return run.stderr


def observed(faulty_run_log: str) -> list[str]:
    """Every text the checks compare against (catalogue lines keep their "...")."""
    catalogue = [case.says for case in CATALOGUE if case.says]
    catalogue += [case.logs for case in CATALOGUE if case.logs]
    return catalogue + aws_descriptions() + target_descriptions() + faulty_run_log.splitlines()


# Rows whose message no test here observes yet (rare paths of other modules); each is
# listed so that it stays visible, and must still be in the table.
NOT_YET_OBSERVED = {
    # observed by tests/test_reliability/test_reach.py (it needs a redirecting server)
    "tap-endorlabs: error: The Endor Labs API at ... answered the token exchange with HTTP 307, "
    "a redirect to ...",
    "... refused the finding_logs query (HTTP 400: invalid path ...): check finding_log_filter",
    "The Endor Labs API kept failing for ... in namespace '...' (...): ... attempts in ...s "
    "(retry_budget_seconds: ...)",
    "The API does not page sorted lists (...): audit_logs now reads its windows by page_id "
    "without sort",
    "tap-endorlabs: error: The Endor Labs API sent the same page token 200 twice for audit_logs "
    "in namespace 'acme' (a paging loop)",
    # observed by tests/test_tap/test_stop_while_retrying.py (it signals the tap's process)
    "tap-endorlabs: stopped by SIGTERM; the last state written resumes the export",
    "stopped by SIGINT; the connection test did not finish",
    # observed by tests/test_tap/test_unknown_host.py (it needs a DNS server that cannot be reached)
    "Retrying ... (api_url's host '...' did not resolve: [Errno ...] ...)",
    "the proxy's host (HTTPS_PROXY) '...' does not exist",
    # observed by tests/test_tap/test_api_url.py (api_url holds the emulator's URL)
    "api_url '...' answered HTTP 404 for the token exchange (POST ...): check api_url",
    "api_url '...' answered HTTP 404 for audit_logs in namespace '...' (GET ...)",
    # observed by tests/test_tap/test_unknown_host.py (the default host needs a resolver
    # without it: a .invalid name stands in for it there)
    "this machine's resolver says api_url's host 'api.endorlabs.com' does not exist (...), but "
    "it is Endor Labs' API: check DNS or set HTTPS_PROXY",
    # observed by tests/test_target/test_ignored_settings.py (a warning, not a failed run)
    "format is ignored under layout: security-lake (...); remove it from the settings",
    "security_lake_account_id is ignored under layout: endor (...); remove it from the settings",
    # printed by the README's export.sh, observed by tests/test_pipeline/test_plain_pipe.py
    "export.sh: another run holds state.json.lock",
    # observed by tests/test_reliability/test_secret_text.py (credentials no header can carry)
    "token (or TAP_ENDORLABS_TOKEN / ENDOR_TOKEN) ends with a line break, which a credential "
    "cannot hold: paste it without the line break",
    "aws_session_token (or TARGET_S3_ENDOR_AWS_SESSION_TOKEN) holds a non-ASCII character ...",
    # observed by tests/test_target/test_input_values_in_lines.py (names quoted with repr)
    "a RECORD message for stream '...' came before that stream's SCHEMA",
    # observed by tests/test_target/test_region_botocore.py (botocore's own region rule)
    "region '...' is not an AWS region name such as us-east-1 nor a store's region botocore "
    "takes (...)",
    "region '...' (from AWS_DEFAULT_REGION) is not a region botocore takes",
    "region '...' (from the region of AWS profile '...' ...)",
}


def test_every_troubleshooting_message_is_printed_by_the_code(faulty_run_log: str) -> None:
    texts = observed(faulty_run_log)
    messages = troubleshooting_messages()
    assert set(NOT_YET_OBSERVED) <= set(messages), "a listed row left the table: drop it here"
    missing = [
        message
        for message in messages
        if message not in NOT_YET_OBSERVED
        and not any(says_matches(message, text) for text in texts)
    ]
    assert not missing, f"the code prints these differently: {missing}"


def test_the_check_can_fail() -> None:
    assert not says_matches("context deadline exceeded in the log", "Deadline exceeded on x")
    assert says_matches("Namespace '...' was not found", "Namespace 'nope' was not found (HTTP")


@pytest.mark.parametrize("document", ["README.md", "tests/emulator/README.md"])
def test_user_documents_point_only_at_files_users_have(document: str) -> None:
    text = (REPO_ROOT / document).read_text()
    assert "/work/" not in text and "shared/reference" not in text
    for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", text):
        assert (REPO_ROOT / document).parent.joinpath(target).resolve().exists(), target
