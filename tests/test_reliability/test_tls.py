"""TLS certificates are verified unless ``ssl_verify: false`` says otherwise.

Both plugins talk to an HTTPS server with a self-signed certificate: by default
the handshake is refused with a clear line; with the explicit setting the
request goes through (the server answers, so the failure changes or vanishes).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from singer_sdk.plugin_base import PluginBase

from tap_endorlabs.tap import TapEndorLabs
from target_s3_endor.target import TargetS3Endor
from tests.conftest import S3_TEST_CREDENTIALS
from tests.support.in_process_cli import run_cli_in_process
from tests.test_reliability.tls_server import https_server


def run(plugin: type[PluginBase], config: dict[str, Any], workdir: Path) -> tuple[int, str, str]:
    """The plugin's command in this process (the handshake's outcome is under test, not a
    process): its exit code, stdout and stderr."""
    (workdir / "config.json").write_text(json.dumps(config))
    args = ["--config", str(workdir / "config.json")]
    if plugin is TargetS3Endor:
        args.append("--test")
    result = run_cli_in_process(plugin, args)
    return result.returncode, result.stdout.decode(), result.stderr.decode()


def test_target_refuses_a_self_signed_endpoint_unless_told(tmp_path: Path) -> None:
    with https_server(tmp_path) as url:
        config = {
            "bucket": "tls-test",
            "endpoint_url": url,
            "region": S3_TEST_CREDENTIALS["region_name"],
            "aws_access_key_id": "testing",
            "aws_secret_access_key": "testing-secret",
            "max_attempts": 1,
        }
        code, out, err = run(TargetS3Endor, config, tmp_path)
        assert code == 1
        assert "S3 access FAILED" in out and "certificate" in out.lower(), out
        assert "Traceback" not in err

        code, out, _ = run(TargetS3Endor, {**config, "ssl_verify": False}, tmp_path)
        assert code == 0, out
        assert "S3 access OK" in out


def test_tap_refuses_a_self_signed_api_unless_told(tmp_path: Path) -> None:
    with https_server(tmp_path) as url:
        config = {
            "api_url": url,
            "namespace": "acme",
            "api_key": "k",
            "api_secret": "s",
            "request_timeout": 5,
        }
        code, _, err = run(TapEndorLabs, config, tmp_path)
        assert code == 1
        assert "SSLError" in err.strip().splitlines()[-1], err[-1000:]
        assert "Traceback" not in err

        code, _, err = run(TapEndorLabs, {**config, "ssl_verify": False}, tmp_path)
        assert code == 1
        # The handshake now succeeds and the server's own answer is what fails.
        assert "rejected the API key (HTTP 401)" in err.strip().splitlines()[-1], err[-1000:]


def test_target_names_a_self_signed_sts_endpoint_as_such(tmp_path: Path) -> None:
    """botocore's SSLError is an OSError too (through requests): the STS call's failure is
    described as STS's, never as an unreadable web-identity token file."""
    with https_server(tmp_path) as url:
        config = {
            "bucket": "tls-test",
            "endpoint_url": url,
            "region": S3_TEST_CREDENTIALS["region_name"],
            "role_arn": "arn:aws:iam::123456789012:role/exporter",
            "sts_endpoint_url": url,
            "max_attempts": 1,
        }
        code, out, err = run(TargetS3Endor, config, tmp_path)
        assert code == 1
        assert "certificate" in (out + err).lower(), out + err
        assert "web_identity_token_file" not in out + err
        assert "Traceback" not in err
