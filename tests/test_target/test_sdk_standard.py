"""The SDK's standard target tests, run against the local S3 server."""

from __future__ import annotations

from typing import Any

import pytest
from singer_sdk.testing import get_target_test_class
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
