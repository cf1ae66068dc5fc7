"""Fixtures for scale-out runs: one emulator, an export bucket and a state bucket apart from it."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest

from tests.support.servers import ServerProcess
from tests.test_orchestration.machines import Shared
from tests.test_pipeline.conftest import PIPELINE_EMULATOR_ARGS


@pytest.fixture
def shared(
    emulator_factory: Callable[..., ServerProcess], s3_endpoint: str, s3_client: Any, bucket: str
) -> Shared:
    """What the machines of one tenant share; the state bucket is not the export bucket.

    The API is the end-to-end runs' small emulator (tests/test_pipeline/conftest.py).
    """
    state_bucket = f"meltano-state-{uuid.uuid4().hex[:16]}"
    s3_client.create_bucket(Bucket=state_bucket)
    return Shared(emulator_factory(*PIPELINE_EMULATOR_ARGS), s3_endpoint, bucket, state_bucket)
