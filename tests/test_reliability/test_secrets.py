"""Secrets never leak: not in logs (at DEBUG), errors, state or objects.

A whole export runs with distinctive secrets everywhere (API key and secret, a
bearer token, AWS secret key and session token) and DEBUG logging in the tap,
the target and botocore; then everything the run produced is searched.  A
failing run (credentials refused, S3 refusing) is searched too, since error
paths are where secrets usually slip out.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

from tests.s3_listing import list_objects
from tests.support.emulator_client import call_json
from tests.support.servers import ServerProcess, start_emulator
from tests.test_reliability.conftest import campaign_tap_config, campaign_target_config
from tests.test_reliability.harness import TAP, Pipeline

API_KEY = "endr-key-7f3a9c1e5b2d4f60"
API_SECRET = "endr-secret-Q9wX2vLp8RzT4mKs"
AWS_SECRET = "aws-secret-Zk4Pq7Rt1Vw9Xy3B"
AWS_SESSION = "aws-session-Hn5Jm2Lp8Qr6St0U"
DEBUG = {
    "LOGLEVEL": "DEBUG",
    "TAP_ENDORLABS_LOGLEVEL": "DEBUG",
    "TARGET_S3_ENDOR_LOGLEVEL": "DEBUG",
}


# Issue 23: a fifth of the default data (every stream still has records, every kind of
# object is written; the ~700 requests of a run are mostly windows, so the run still
# lasts long enough for the 2 s token to be renewed). Two whole exports at DEBUG pumped
# ~1,750 lines each, every line logged by the tap and the target.
SECRETS_EMULATOR_FLAGS = (
    "--seed",
    "4",
    "--api-key",
    API_KEY,
    "--api-secret",
    API_SECRET,
    "--token-ttl",
    "2",
    "--audit-logs",
    "400",
    "--authentication-logs",
    "60",
    "--finding-logs",
    "20",
    "--projects",
    "3",
    "--scans-per-project",
    "3",
)


def fetch_token(server: ServerProcess) -> str:
    """A bearer token from the emulator, as the tap would get for the key."""
    answer = call_json(server, "POST", "/v1/auth/api-key", {"key": API_KEY, "secret": API_SECRET})
    return str(answer["token"])


def tap_alone(workdir: Path, config: dict[str, Any]) -> None:
    """The tap as a process at DEBUG, its output and log in ``workdir``: a run that must fail."""
    workdir.mkdir()
    (workdir / "tap.json").write_text(json.dumps(config))
    with (workdir / "tap.out").open("wb") as out, (workdir / "tap.err").open("wb") as err:
        code = subprocess.run(
            [TAP, "--config", str(workdir / "tap.json")],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            env={**os.environ, **DEBUG},
            timeout=120,
            check=False,
        ).returncode
    assert code == 1, (workdir / "tap.err").read_text()[-2000:]


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
        (workdir / name).unlink(missing_ok=True)


def test_no_secret_in_anything_a_run_produces(
    tmp_path: Path, s3_endpoint: str, s3_client: Any, bucket: str
) -> None:
    with start_emulator(*SECRETS_EMULATOR_FLAGS) as server:
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
        # The token has expired by now (2 s): the tap stops at its first request, 401.
        # Like a wrong secret, it stops the tap before any record: the tap runs alone
        # (a target reading nothing logs only what the key run's target logs).
        tap_alone(tmp_path / "token", token_config)
        # Failing runs: a wrong secret, and S3 refusing the credentials' bucket.
        tap_alone(
            tmp_path / "bad-key",
            campaign_tap_config(server, api_key=API_KEY, api_secret=API_SECRET + "x"),
        )
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
