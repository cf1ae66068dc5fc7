"""Nothing a source or a server sends makes the connector reach elsewhere or reveal a secret.

Each attack of issue 24 is played against the real target or tap (child
processes at DEBUG log level) with a capture server (tests/capture_server.py,
a real HTTP server in a child process) standing for the attacker's address:
afterwards it must have received nothing, and stderr must hold no secret.

* target: a SCHEMA whose ``$ref``/``$schema``/``$id`` names an http or file
  document (server-side request forgery, a local file, the target's own config
  with the AWS secret key); a BATCH manifest naming an http URL or an fsspec chain;
* tap: a redirect of the token exchange (it carries the key and secret), of a
  list call (it carries the token), api_url over plain http or with userinfo.

The in-process properties (hypothesis) check the error wording itself: a value
placed in a schema, a record, a cut input line or api_url never reaches the line.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
import requests
from hypothesis import given, settings
from hypothesis import strategies as st
from singer_sdk.plugin_base import _ConfigInput

from tap_endorlabs.errors import FatalTapError
from tap_endorlabs.origins import OffOriginRedirectError, SameOriginSession
from tap_endorlabs.settings import check_settings
from target_s3_endor.errors import BadInputError, SettingsError
from target_s3_endor.input.batch_files import batch_records, batch_request
from target_s3_endor.input.reader import StrictLineReader
from target_s3_endor.input.validation import RecordInvalid, SchemaError, build_validator
from target_s3_endor.storage.endpoints import check_endpoints
from target_s3_endor.target import TargetS3Endor
from tests.s3_listing import list_objects
from tests.support.servers import ServerProcess, captured_requests, start_capture_server
from tests.test_pipeline.conftest import target_config
from tests.test_reliability.harness import TAP, TARGET
from tests.test_tap.tap_runner import run_tap_in_process

API_KEY = "endr-key-Xc4Vb7Nm1Qw3"
API_SECRET = "endr-secret-Lp9Ok8Ij7Uh6"
AWS_SECRET = "aws-secret-Tg5Rf4Ed3Ws2Qa1Z"
DEBUG = {
    "LOGLEVEL": "DEBUG",
    "TAP_ENDORLABS_LOGLEVEL": "DEBUG",
    "TARGET_S3_ENDOR_LOGLEVEL": "DEBUG",
}
# Secrets are generated from letters and digits, long enough to be unmistakable.
MARKER = "Zq9X"  # starts a generated secret where a few characters of it are enough
secrets_text = st.text(alphabet="abcdefghijkmnopqrstuvwxyz0123456789", min_size=12, max_size=24)


@pytest.fixture
def target_conf(s3_endpoint: str, bucket: str) -> dict[str, Any]:
    """The target's config for the local S3, with a distinctive AWS secret key."""
    return {**target_config(s3_endpoint, bucket), "aws_secret_access_key": AWS_SECRET}


@pytest.fixture
def capture() -> Any:
    """The attacker's address: a server that records whatever reaches it."""
    with start_capture_server() as server:
        yield server


def run(command: list[str], workdir: Path, config: dict[str, Any], stdin: str = "") -> Any:
    """One plugin run at DEBUG level; its config file is ``workdir/config.json``."""
    (workdir / "config.json").write_text(json.dumps(config))
    return subprocess.run(
        [*command, "--config", str(workdir / "config.json")],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, **DEBUG},
    )


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if "ERROR" in line or "error:" in line]


# --- target: SCHEMA references ---------------------------------------------------------

SCHEMA_ATTACKS = {
    "whole schema is a remote $ref": {"$ref": "{url}/schemas/evil.json"},
    "property $ref to a remote document": {
        "type": "object",
        "properties": {"uuid": {"type": "string"}, "x": {"$ref": "{url}/schemas/x.json"}},
    },
    "remote $ref deep in anyOf": {
        "properties": {"x": {"anyOf": [{"type": "null"}, {"$ref": "{url}/schemas/deep.json"}]}}
    },
    "$schema names a remote meta-schema": {"$schema": "{url}/meta.json", "properties": {}},
    "$id makes a relative $ref remote": {
        "$id": "{url}/root.json",
        "properties": {"x": {"$ref": "other.json"}},
    },
    "$ref to /etc/passwd": {"$ref": "file:///etc/passwd"},
    "$ref into the target's own config file": {
        "properties": {"x": {"$ref": "file://{config}#/aws_secret_access_key"}}
    },
}


@pytest.mark.parametrize("attack", list(SCHEMA_ATTACKS))
def test_a_schema_reference_outside_the_message_is_refused_and_never_fetched(
    attack: str, capture: ServerProcess, target_conf: dict[str, Any], s3_client: Any, tmp_path: Path
) -> None:
    config_path = tmp_path / "config.json"
    text = json.dumps(SCHEMA_ATTACKS[attack])
    text = text.replace("{url}", capture.url).replace("{config}", str(config_path))
    schema = {"type": "SCHEMA", "stream": "users", "schema": json.loads(text)}
    record = {"type": "RECORD", "stream": "users", "record": {"uuid": "u-1", "x": 1}}
    stdin = json.dumps(schema) + "\n" + json.dumps(record) + "\n"

    done = run([TARGET], tmp_path, target_conf, stdin)

    assert done.returncode == 1, done.stderr[-2000:]
    assert "Traceback" not in done.stderr
    [line] = error_lines(done.stderr)
    assert "SCHEMA of stream 'users'" in line
    assert "outside the message" in line, line
    assert captured_requests(capture) == []
    assert AWS_SECRET not in done.stderr
    assert "root:" not in done.stderr  # nothing of /etc/passwd
    assert list_objects(s3_client, target_conf["bucket"]) == []


def test_the_reconciliations_schema_is_never_compiled_nor_fetched(
    capture: ServerProcess, target_conf: dict[str, Any], tmp_path: Path
) -> None:
    """Its sink validates nothing: the SDK's default validator fetched and quoted the schema."""
    body = {
        "properties": {"x": {"$ref": f"{capture.url}/schemas/r.json"}, "y": {"type": AWS_SECRET}}
    }
    schema = {"type": "SCHEMA", "stream": "reconciliations", "schema": body, "key_properties": []}
    done = run([TARGET], tmp_path, target_conf, json.dumps(schema) + "\n")
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Traceback" not in done.stderr
    assert AWS_SECRET not in done.stderr
    assert captured_requests(capture) == []


def test_a_schema_with_local_references_still_validates_and_writes(
    s3_endpoint: str, s3_client: Any, bucket: str, tmp_path: Path
) -> None:
    """#/definitions/... and #/$defs/... stay resolved: only outside documents are refused."""
    body = {
        "type": "object",
        "definitions": {"id": {"type": "string"}},
        "properties": {"uuid": {"$ref": "#/definitions/id"}, "n": {"$ref": "#/definitions/id"}},
    }
    schema = {"type": "SCHEMA", "stream": "users", "schema": body, "key_properties": ["uuid"]}
    good = {"type": "RECORD", "stream": "users", "record": {"uuid": "u-1", "n": "one"}}
    config = target_config(s3_endpoint, bucket)

    done = run([TARGET], tmp_path, config, "\n".join(map(json.dumps, [schema, good])) + "\n")
    assert done.returncode == 0, done.stderr[-2000:]
    assert [stored.records for stored in list_objects(s3_client, bucket)] == [
        [{"uuid": "u-1", "n": "one"}]
    ]

    bad = {"type": "RECORD", "stream": "users", "record": {"uuid": "u-2", "n": 12345678}}
    done = run([TARGET], tmp_path, config, "\n".join(map(json.dumps, [schema, bad])) + "\n")
    assert done.returncode == 1
    [line] = error_lines(done.stderr)
    assert "data.n must be string" in line and "12345678" not in line


# --- target: BATCH manifests --------------------------------------------------------------

BATCH_ATTACKS = {
    "http": ("{url}/batch.jsonl", "uses the http: scheme"),
    "fsspec chain": ("simplecache::{url}/batch.jsonl", "chains fsspec protocols"),
    "https": ("https://127.0.0.1:{port}/batch.jsonl", "uses the https: scheme"),
}


@pytest.mark.parametrize("attack", list(BATCH_ATTACKS))
def test_a_batch_manifest_url_outside_file_and_s3_is_refused_and_never_fetched(
    attack: str, capture: ServerProcess, target_conf: dict[str, Any], tmp_path: Path
) -> None:
    template, says = BATCH_ATTACKS[attack]
    port = capture.url.rsplit(":", 1)[1]
    url = template.replace("{url}", capture.url).replace("{port}", port)
    schema = {"type": "SCHEMA", "stream": "users", "schema": {"type": "object"}}
    batch = {
        "type": "BATCH",
        "stream": "users",
        "encoding": {"format": "jsonl", "compression": "none"},
        "manifest": [url],
    }
    stdin = json.dumps(schema) + "\n" + json.dumps(batch) + "\n"

    done = run([TARGET], tmp_path, target_conf, stdin)

    assert done.returncode == 1, done.stderr[-2000:]
    [line] = error_lines(done.stderr)
    assert says in line and "BATCH file" in line, line
    assert captured_requests(capture) == []
    assert AWS_SECRET not in done.stderr


@settings(max_examples=40, deadline=None)
@given(secret=secrets_text, slash=st.booleans(), query=st.booleans())
def test_a_batch_url_error_never_quotes_its_credentials(
    secret: str, slash: bool, query: bool
) -> None:
    """s3://key:secret@bucket/... (an AWS secret key may hold a "/"), or a signed query."""
    password = f"{secret[:6]}/{secret[6:]}" if slash else secret
    url = f"s3://AKIAEXAMPLE:{password}@bucket/batch-1.jsonl"
    if query:
        url = f"s3://bucket/batch-1.jsonl?X-Amz-Signature={secret}"
    message = {
        "type": "BATCH",
        "stream": "users",
        "encoding": {"format": "jsonl", "compression": "none"},
        "manifest": [url],
    }
    with pytest.raises(BadInputError) as refused:  # s3fs is not installed: the file is named
        list(batch_records(batch_request(message)))
    assert secret[:6] not in str(refused.value)
    assert "s3://bucket/batch-1.jsonl' of stream 'users'" in str(refused.value)


# --- target: values in error lines --------------------------------------------------------


def test_a_secret_setting_refused_by_config_validation_is_not_printed(
    s3_endpoint: str, bucket: str, tmp_path: Path
) -> None:
    """The SDK's validator quotes what it refused: a numeric secret key was printed whole."""
    numeric_secret = 918273645546372819
    config = {**target_config(s3_endpoint, bucket), "aws_secret_access_key": numeric_secret}
    done = run([TARGET], tmp_path, config)
    assert done.returncode == 1
    [line] = error_lines(done.stderr)
    assert "aws_secret_access_key" in line
    assert str(numeric_secret) not in done.stderr


def test_plain_http_s3_endpoint_elsewhere_is_warned_about(caplog: pytest.LogCaptureFixture) -> None:
    """Allowed (private-network stores speak http), but never silently; loopback is quiet."""
    check_endpoints({"endpoint_url": "http://127.0.0.1:9000"})
    assert not caplog.records
    check_endpoints({"endpoint_url": "http://minio.internal:9000"})
    [warning] = caplog.records
    assert "endpoint_url http://minio.internal:9000 is plain http" in warning.getMessage()


@settings(max_examples=40, deadline=None)
@given(
    password=secrets_text,
    setting=st.sampled_from(["endpoint_url", "sts_endpoint_url"]),
    scheme=st.sampled_from(["http", "https"]),
)
def test_no_endpoint_error_quotes_its_userinfo(password: str, setting: str, scheme: str) -> None:
    with pytest.raises(SettingsError) as refused:
        check_endpoints({setting: f"{scheme}://key:{password}@s3.example.com:9000"})
    assert password not in str(refused.value)
    assert setting in str(refused.value)


@settings(max_examples=40, deadline=None)
@given(
    secret=secrets_text,
    setting=st.sampled_from(["aws_secret_access_key", "aws_session_token", "external_id"]),
    shape=st.sampled_from(["number", "list", "object"]),
)
def test_a_secret_setting_of_the_wrong_type_never_reaches_the_error_line(
    secret: str, setting: str, shape: str
) -> None:
    """The target's own error path (invoke), in-process: the SDK's message quotes the value."""
    digits = "".join(str(ord(char) % 10) for char in secret)
    value: Any = {"number": int("9" + digits), "list": [secret], "object": {"k": secret}}[shape]
    config = {"bucket": "my-bucket", "aws_access_key_id": "AKIAEXAMPLE", setting: value}
    if setting != "aws_secret_access_key":
        config["aws_secret_access_key"] = "aws-secret-present"
    lines: list[str] = []
    handler = logging.Handler()
    handler.emit = lambda record: lines.append(record.getMessage())  # type: ignore[method-assign]
    TargetS3Endor.logger.addHandler(handler)
    try:
        with pytest.raises(SystemExit) as stopped:
            TargetS3Endor.invoke(config=_ConfigInput(config=config))
    finally:
        TargetS3Endor.logger.removeHandler(handler)
    assert stopped.value.code == 1
    logged = "\n".join(lines)
    assert setting in logged
    assert secret not in logged and ("9" + digits) not in logged


# Rules whose value a secret can take and make the schema invalid.
BAD_SCHEMA_RULES = [
    "type",
    "minimum",
    "maxLength",
    "required",
    "properties",
    "items",
    "pattern",
    "$ref",
]


@settings(max_examples=60, deadline=None)
@given(secret=secrets_text, rule=st.sampled_from(BAD_SCHEMA_RULES), nested=st.booleans())
def test_a_schema_error_never_quotes_a_schema_value(secret: str, rule: str, nested: bool) -> None:
    value: Any = f"#/definitions/{secret}" if rule == "$ref" else secret
    if rule == "pattern":
        value = f"({secret}"
    field: dict[str, Any] = {rule: value}
    schema = {"type": "object", "properties": {"f": {"anyOf": [field]} if nested else field}}
    with pytest.raises(SchemaError) as refused:
        build_validator(schema)
    assert secret not in str(refused.value)


RECORD_RULES: list[dict[str, Any]] = [
    {"type": "integer"},
    {"enum": ["allowed"]},
    {"const": "allowed"},
    {"pattern": "^allowed$"},
    {"maxLength": 3},
    {"format": "email", "type": "array"},
    {"not": {"type": "string"}},
    {"oneOf": [{"type": "integer"}, {"type": "boolean"}]},
]


@settings(max_examples=60, deadline=None)
@given(
    secret=secrets_text,
    rule=st.sampled_from(RECORD_RULES),
    depth=st.integers(min_value=0, max_value=3),
)
def test_a_record_error_never_quotes_a_record_value(
    secret: str, rule: dict[str, Any], depth: int
) -> None:
    schema: dict[str, Any] = {"type": "object", "properties": {"f": rule}}
    record: dict[str, Any] = {"f": secret}
    for level in range(depth):
        schema = {"type": "object", "properties": {f"l{level}": schema}}
        record = {f"l{level}": record}
    with pytest.raises(RecordInvalid) as refused:
        build_validator(schema)(record)
    assert secret not in str(refused.value)


@settings(max_examples=80, deadline=None)
@given(
    secret=secrets_text,
    key=st.sampled_from(["password", "x", "token"]),
    record_first=st.booleans(),
    data=st.data(),
)
def test_an_unreadable_input_line_never_quotes_its_content(
    secret: str, key: str, record_first: bool, data: st.DataObject
) -> None:
    """A RECORD line cut anywhere (a tap killed mid-write): the error holds none of it."""
    value = MARKER + secret
    record = {"record": {key: value}}
    head = {"type": "RECORD", "stream": "s"}
    line = json.dumps({**record, **head} if record_first else {**head, **record})
    start = line.index(value) + len(MARKER)
    cut = data.draw(st.integers(min_value=start, max_value=len(line) - 1))
    reader = StrictLineReader()
    with pytest.raises(BadInputError) as refused:
        reader.deserialize_json(line[:cut])
    assert MARKER not in str(refused.value)


# --- tap: redirects, plain http, userinfo ----------------------------------------------


def tap_config(api_url: str, **extra: Any) -> dict[str, Any]:
    return {
        "api_url": api_url,
        "namespace": "acme",
        "api_key": API_KEY,
        "api_secret": API_SECRET,
        "start_date": "2026-01-01T00:00:00Z",
        **extra,
    }


def assert_tap_refused(done: Any, *fragments: str) -> str:
    assert done.returncode == 1, done.stderr[-2000:]
    assert "Traceback" not in done.stderr
    [line] = [line for line in done.stderr.splitlines() if "tap-endorlabs: error:" in line]
    for fragment in fragments:
        assert fragment in line, line
    for secret in (API_KEY, API_SECRET):
        assert secret not in done.stderr
    return line


def test_the_token_exchange_follows_no_redirect(tmp_path: Path) -> None:
    """api_url answers 307 to another host: the key and secret never reach it, not once.

    The command itself, at DEBUG; the other tap cases run it in-process at DEBUG.
    """
    with start_capture_server() as elsewhere:
        target = f"{elsewhere.url}/v1/auth/api-key"
        with start_capture_server("--redirect-to", target) as redirecting:
            done = run([TAP], tmp_path, tap_config(redirecting.url))
            line = assert_tap_refused(done, "HTTP 307", "did not follow it", elsewhere.url)
            assert "token exchange" in line
            assert captured_requests(elsewhere) == []
            sent = captured_requests(redirecting)
            assert [(r["method"], r["path"]) for r in sent] == [("POST", "/v1/auth/api-key")]


def test_a_list_call_is_not_redirected_to_another_origin() -> None:
    """The exchange answers; list calls redirect elsewhere: neither token nor query goes."""
    with start_capture_server() as elsewhere:
        target = f"{elsewhere.url}/v1/namespaces/acme/audit-logs"
        with start_capture_server(
            "--redirect-to", target, "--redirect-methods", "GET"
        ) as redirecting:
            done = run_tap_in_process(tap_config(redirecting.url), env=DEBUG)
            assert_tap_refused(done, "HTTP 307", "did not follow it")
            assert captured_requests(elsewhere) == []
            assert any(r["method"] == "GET" for r in captured_requests(redirecting))


def test_a_fixed_token_is_not_redirected_to_another_origin() -> None:
    token = "endr-token-Ws3Ed4Rf5Tg6"
    with start_capture_server() as elsewhere:
        redirecting = start_capture_server("--redirect-to", f"{elsewhere.url}/steal")
        with redirecting:
            config = tap_config(redirecting.url, token=token, api_key=None, api_secret=None)
            done = run_tap_in_process(config, env=DEBUG)
            assert_tap_refused(done, "did not follow it")
            assert token not in done.stderr
            assert captured_requests(elsewhere) == []


def test_redirects_within_the_origin_are_followed_with_the_token() -> None:
    """A same-origin hop (a moved path) still works; the token goes along to it."""
    with start_capture_server("--redirect-to", "/landed") as api:
        session = SameOriginSession(api.url)
        answer = session.get(f"{api.url}/start", headers={"Authorization": "Bearer t"}, timeout=10)
        assert answer.status_code == 200
        sent = captured_requests(api)
        assert [r["path"] for r in sent] == ["/start", "/landed"]
        assert sent[1]["headers"].get("Authorization") == "Bearer t"


@pytest.mark.parametrize(
    ("from_url", "location"),
    [
        ("https://api.example.com/v1/x", "http://api.example.com/v1/x"),  # https to http
        ("https://api.example.com/v1/x", "https://api.example.com:8443/v1/x"),  # another port
        ("https://api.example.com/v1/x", "//evil.example.net/v1/x"),  # scheme-relative
        ("http://127.0.0.1:8080/v1/x", "http://localhost:8080/v1/x"),  # another host name
    ],
)
def test_a_redirect_to_another_scheme_port_or_host_is_refused(from_url: str, location: str) -> None:
    response = requests.Response()
    response.status_code = 307
    response.headers["Location"] = location
    response.url = from_url
    with pytest.raises(OffOriginRedirectError):
        SameOriginSession(from_url.rsplit("/v1", 1)[0]).get_redirect_target(response)


def test_plain_http_to_another_machine_is_refused_before_any_request() -> None:
    done = run_tap_in_process(tap_config("http://api.endorlabs.example:80"), env=DEBUG)
    assert_tap_refused(done, "plain http", "use https://")


def test_userinfo_in_api_url_is_refused_and_never_printed(
    capture: ServerProcess,
) -> None:
    password = "pw-Qa7Ws8Ed9"
    url = capture.url.replace("http://", f"http://admin:{password}@")
    done = run_tap_in_process(tap_config(url), env=DEBUG)
    assert_tap_refused(done, "user name or password")
    assert password not in done.stderr and "admin" not in done.stderr
    assert captured_requests(capture) == []


@settings(max_examples=60, deadline=None)
@given(
    password=secrets_text,
    scheme=st.sampled_from(["http", "https", "ftp", "htp"]),
    host=st.sampled_from(["127.0.0.1", "api.endorlabs.com", "[::1]", "localhost:8443"]),
)
def test_no_api_url_error_quotes_its_userinfo(password: str, scheme: str, host: str) -> None:
    config = tap_config(f"{scheme}://user:{password}@{host}/v1")
    with pytest.raises(FatalTapError) as refused:
        check_settings(config)
    assert password not in str(refused.value)


def test_loopback_http_is_accepted() -> None:
    """The emulator and tests use http://127.0.0.1; localhost and ::1 are this machine too."""
    for url in ("http://127.0.0.1:8080", "http://localhost:9", "http://[::1]:9", "https://x.io"):
        check_settings(tap_config(url))
