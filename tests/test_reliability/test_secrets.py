"""Secrets never leak: not in logs (at DEBUG), errors, state or objects.

A whole export runs with distinctive secrets everywhere (API key and secret, a
bearer token, AWS secret key and session token) and DEBUG logging in the tap,
the target and botocore; then everything the run produced is searched.  A
failing run (credentials refused, S3 refusing) is searched too, since error
paths are where secrets usually slip out.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.s3_listing import list_objects
from tests.support.emulator_client import call_json
from tests.support.servers import ServerProcess, start_emulator
from tests.test_reliability.conftest import campaign_tap_config, campaign_target_config
from tests.test_reliability.harness import Pipeline

API_KEY = "endr-key-7f3a9c1e5b2d4f60"
API_SECRET = "endr-secret-Q9wX2vLp8RzT4mKs"
AWS_SECRET = "aws-secret-Zk4Pq7Rt1Vw9Xy3B"
AWS_SESSION = "aws-session-Hn5Jm2Lp8Qr6St0U"
DEBUG = {
    "LOGLEVEL": "DEBUG",
    "TAP_ENDORLABS_LOGLEVEL": "DEBUG",
    "TARGET_S3_ENDOR_LOGLEVEL": "DEBUG",
}


def fetch_token(server: ServerProcess) -> str:
    """A bearer token from the emulator, as the tap would get for the key."""
    answer = call_json(server, "POST", "/v1/auth/api-key", {"key": API_KEY, "secret": API_SECRET})
    return str(answer["token"])


def everything_produced(workdir: Path, s3_client: Any, bucket: str) -> str:
    texts = [path.read_text(errors="replace") for path in workdir.rglob("*") if path.is_file()]
    for stored in list_objects(s3_client, bucket):
        raw = s3_client.get_object(Bucket=bucket, Key=stored.key)["Body"].read()
        texts += [stored.key, raw.decode(errors="replace"), json.dumps(stored.records)]
    return "\n".join(texts)


def assert_no_secret(text: str, secrets: list[str]) -> None:
    for secret in secrets:
        assert secret not in text, f"secret {secret[:8]}... leaked"


def without_configs(workdir: Path) -> None:
    # The config files hold the secrets by design; everything else must not.
    for name in ("tap.json", "target.json"):
        (workdir / name).unlink()


def test_no_secret_in_anything_a_run_produces(
    tmp_path: Path, s3_endpoint: str, s3_client: Any, bucket: str
) -> None:
    with start_emulator(
        "--seed", "4", "--api-key", API_KEY, "--api-secret", API_SECRET, "--token-ttl", "2"
    ) as server:
        token = fetch_token(server)
        target = campaign_target_config(
            s3_endpoint, bucket, aws_secret_access_key=AWS_SECRET, aws_session_token=AWS_SESSION
        )
        key_run = Pipeline(
            tmp_path / "key",
            campaign_tap_config(server, api_key=API_KEY, api_secret=API_SECRET),
            target,
            env=DEBUG,
        ).run()
        assert key_run.tap_code == 0 and key_run.target_code == 0, key_run.tap_stderr[-2000:]
        token_config = {**campaign_tap_config(server), "token": token}
        token_config.pop("api_key"), token_config.pop("api_secret")
        token_run = Pipeline(tmp_path / "token", token_config, target, env=DEBUG).run()
        assert token_run.target_code == 0
        # Failing runs: a wrong secret, and S3 refusing the credentials' bucket.
        Pipeline(
            tmp_path / "bad-key",
            campaign_tap_config(server, api_key=API_KEY, api_secret=API_SECRET + "x"),
            target,
            env=DEBUG,
        ).run()
        Pipeline(
            tmp_path / "bad-bucket",
            campaign_tap_config(server, api_key=API_KEY, api_secret=API_SECRET),
            {**target, "bucket": "no-such-bucket-here"},
            env=DEBUG,
        ).run()
    for run in ("key", "token", "bad-key", "bad-bucket"):
        without_configs(tmp_path / run)
    produced = everything_produced(tmp_path, s3_client, bucket)
    assert "DEBUG" in produced  # the logs were searched at their most verbose
    assert_no_secret(produced, [API_KEY, API_SECRET, token, AWS_SECRET, AWS_SESSION])
