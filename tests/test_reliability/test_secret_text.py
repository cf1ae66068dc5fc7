"""A secret that cannot go into a header is refused by name, and never printed in any form.

A token pasted with its line break reached ``http.client``, whose ``Invalid header
value b'Bearer ...\\n'`` (and a traceback) printed it repr-escaped, past the scrubbing
of raw values; a non-Latin-1 character was a ``UnicodeEncodeError`` traceback.  Now
each plugin checks its credentials at start (connector_common/header_values.py).
The invariant, for any text: a secret with white space at an end or a character
outside printable ASCII ends the run with one line naming the setting, exit 1, no
traceback, and no output holds the secret, any part of it, or its escaped forms.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from connector_common.header_values import value_problem
from connector_common.secret_values import scrubbed, shown_forms
from target_s3_endor.target import TargetS3Endor
from tests.support.in_process_cli import run_cli_in_process
from tests.test_reliability.harness import TAP
from tests.test_tap.tap_runner import run_tap_in_process

#: Nothing listens there: a value that passed the check would fail differently, later.
NOWHERE = "http://127.0.0.1:9"
TAP_SECRETS = ("token", "api_key", "api_secret")
TARGET_SECRETS = ("aws_access_key_id", "aws_secret_access_key", "aws_session_token")

#: A distinctive printable part, so that any piece of the secret in the output is found.
#: ("Zq9" first: no word of the plugins' own lines starts so).
cores = st.builds(
    "Zq9".__add__,
    st.text(alphabet="ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz23456789", min_size=5),
)
#: Characters no header can carry where they are placed: any control or non-ASCII
#: character anywhere, white space at an end.
bad_chars = st.characters(
    blacklist_categories=("Cs",), blacklist_characters="".join(map(chr, range(0x20, 0x7F)))
)


@st.composite
def bad_secrets(draw: st.DrawFn) -> tuple[str, str]:
    """A secret no header can carry, and its printable core (which must never be shown)."""
    core = draw(cores)
    where = draw(st.sampled_from(["start", "end", "middle", "end-space"]))
    if where == "end-space":
        return core + draw(st.sampled_from([" ", "\t", "\n", "\r\n"])), core
    char = draw(bad_chars)
    if where == "start":
        return char + core, core
    if where == "end":
        return core + char, core
    return core[:5] + char + core[5:], core


def leaked_forms(secret: str, core: str) -> list[str]:
    """The texts that would give the secret away: raw, repr, JSON, bytes repr, both halves."""
    forms = [secret, repr(secret)[1:-1], json.dumps(secret)[1:-1], core]
    forms.append(repr(secret.encode("utf-8", "surrogatepass"))[2:-1])
    return [form for form in forms if len(form) >= 4]


def assert_refused(text: str, secret: str, core: str, setting: str, returncode: int) -> None:
    assert returncode == 1, text
    assert "Traceback" not in text, text
    errors = [line for line in text.splitlines() if "error" in line.lower()]
    assert len(errors) == 1, text
    assert setting in errors[0], errors[0]
    assert "paste it" in errors[0], errors[0]
    for form in leaked_forms(secret, core):
        assert form not in text, (form, text)


@settings(max_examples=200, deadline=None)
@given(value=st.text())
def test_only_printable_ascii_without_edge_spaces_is_accepted(value: str) -> None:
    """The rule itself, over any text: its words never hold the value."""
    printable = all(" " <= c <= "~" for c in value) and value == value.strip()
    problem = value_problem(value)
    assert (problem is None) == printable
    if problem is not None and len(value.strip()) >= 12:
        assert all(value.strip() not in words for words in problem)


@settings(max_examples=25, deadline=None)
@given(secret=bad_secrets(), setting=st.sampled_from(TAP_SECRETS))
def test_tap_refuses_a_credential_no_header_carries(secret: tuple[str, str], setting: str) -> None:
    value, core = secret
    config: dict[str, Any] = {"namespace": "acme", "api_url": NOWHERE, "retry_budget_seconds": 1}
    if setting == "token":
        config["token"] = value
    else:
        config |= {"api_key": "endr-key-1", "api_secret": "endr-secret-1", setting: value}
    run = run_tap_in_process(config)
    assert_refused(run.stderr + run.stdout, value, core, setting, run.returncode)


@settings(max_examples=25, deadline=None)
@given(
    secret=bad_secrets(),
    setting=st.sampled_from(TARGET_SECRETS),
    mode=st.sampled_from([[], ["--test"], ["--verify"]]),
)
def test_target_refuses_a_credential_no_header_carries(
    secret: tuple[str, str], setting: str, mode: list[str]
) -> None:
    value, core = secret
    config = {
        "bucket": "my-bucket",
        "endpoint_url": NOWHERE,
        "aws_access_key_id": "AKIAEXAMPLE",
        "aws_secret_access_key": "x1y2z3",
        setting: value,
    }
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "target.json"
        path.write_text(json.dumps(config), encoding="utf-8")
        run = run_cli_in_process(TargetS3Endor, ["--config", str(path), *mode])
    text = run.stdout.decode("utf-8", "replace") + run.stderr.decode("utf-8", "replace")
    assert_refused(text, value, core, setting, run.returncode)


@pytest.mark.parametrize(
    ("variable", "value", "core"),
    [
        ("ENDOR_TOKEN", "S3CRETTOKEN\r", "S3CRETTOKEN"),
        ("TAP_ENDORLABS_TOKEN", "S3CR\u2028xTOKEN", "S3CRxTOKEN"),
    ],
)
def test_tap_process_refuses_a_token_variable(variable: str, value: str, core: str) -> None:
    """As a process, the token from a variable (endorctl's or the tap's own, --config=ENV)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ENDOR_", "TAP_ENDORLABS_"))}
    env |= {variable: value, "TAP_ENDORLABS_NAMESPACE": "acme", "ENDOR_API": NOWHERE}
    env["TAP_ENDORLABS_RETRY_BUDGET_SECONDS"] = "1"
    done = subprocess.run(
        [TAP, "--config", "ENV"],
        env=env,
        capture_output=True,
        text=True,
        errors="backslashreplace",
        timeout=60,
        check=False,
    )
    assert_refused(done.stderr + done.stdout, value, core, "token", done.returncode)
    assert variable in done.stderr


@settings(max_examples=300, deadline=None)
@given(secret=st.text(min_size=3), before=st.sampled_from(["", " ", "=", ": ", "Bearer "]))
def test_scrub_hides_every_quoted_form(secret: str, before: str) -> None:
    """However a message quotes the value (repr, JSON, bytes, raw), none of its forms is left."""
    assume(secret.strip() and not secret.startswith(("\\", "'", '"')))
    quoted = [
        f"{before}{secret}",
        repr(f"{before}{secret}"),
        json.dumps(f"{before}{secret}"),
        json.dumps(f"{before}{secret}", ensure_ascii=False),
        repr(f"{before}{secret}".encode("utf-8", "surrogatepass")),
    ]
    for message in quoted:
        text = scrubbed(f"Invalid header value {message}", [secret])
        assert "***" in text, (message, text)
        for form in shown_forms(secret):
            assert form not in text.replace("***", "\0"), (form, text)


@pytest.mark.parametrize(
    ("secret", "message"),
    [
        ("test", "compression_level must be a whole number from 1 (fastest) to 9 (smallest)"),
        ("test", "s3:PutObject of probe key _connection-test was denied"),
        ("rejected", "HTTP 401: the key is unrejected-ish"),
    ],
)
def test_scrub_keeps_a_word_the_secret_is_part_of(secret: str, message: str) -> None:
    """A short secret inside another word of the message is not the value: left readable."""
    assert scrubbed(message, [secret]) == message


def test_target_line_stays_readable_with_a_short_access_key() -> None:
    """LocalStack's access key id ``test`` no longer turns ``fastest`` into ``fas***``."""
    config = {
        "bucket": "my-bucket",
        "aws_access_key_id": "test",
        "aws_secret_access_key": "test",
        "compression_level": 0,
    }
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "target.json"
        path.write_text(json.dumps(config), encoding="utf-8")
        run = run_cli_in_process(TargetS3Endor, ["--config", str(path), "--test"])
    text = run.stderr.decode("utf-8", "replace")
    assert run.returncode == 1
    assert "compression_level must be a whole number from 1 (fastest) to 9" in text, text
