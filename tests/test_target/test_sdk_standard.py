"""The SDK's standard target tests, run against the local S3 server."""

from __future__ import annotations

import importlib.resources
from typing import Any

import pytest
from singer_sdk.testing import get_target_test_class, target_test_streams
from singer_sdk.testing.runners import TargetTestRunner

from target_s3_endor.target import TargetS3Endor

_StandardTests: Any = get_target_test_class(TargetS3Endor, config={"bucket": "placeholder"})


class TestTargetS3EndorStandard(_StandardTests):  # type: ignore[misc]
    """Every standard test, each writing into a fresh bucket on the local S3."""

    @pytest.fixture
    def runner(self, s3_endpoint: str, bucket: str) -> TargetTestRunner:
        return TargetTestRunner(
            target_class=TargetS3Endor,
            config={"bucket": bucket, "endpoint_url": s3_endpoint, "max_attempts": 2},
        )

    def test_target_invalid_schema(self, runner: TargetTestRunner) -> None:
        """The SDK's suite expects its ``invalid_schema.singer`` to fail: a SCHEMA of
        ``{"type": "object"}`` with no ``properties``. That is valid Singer (an object that
        may hold anything), so this target accepts it as an open object (issue 11)."""
        runner.input_filepath = importlib.resources.files(target_test_streams) / (
            "invalid_schema.singer"
        )
        runner.sync_all()
