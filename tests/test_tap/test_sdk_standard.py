"""The Meltano SDK's standard tap tests, against the session emulator."""

from __future__ import annotations

from typing import Any

import pytest
from singer_sdk.testing import get_tap_test_class
from singer_sdk.testing.runners import TapTestRunner

from tap_endorlabs.tap import TapEndorLabs
from tests.support.servers import ServerProcess
from tests.test_tap.tap_runner import tap_config

# The URL is only known once the session emulator runs; the runner fixture below
# fills it in before the first sync.
CONFIG: dict[str, Any] = tap_config("http://127.0.0.1:9")

_StandardTests = get_tap_test_class(TapEndorLabs, config=CONFIG)


class TestTapEndorLabsStandard(_StandardTests):  # type: ignore[misc,valid-type]
    """Discovery, sync, schemas, primary keys and attribute types of every stream."""

    @pytest.fixture(scope="class")
    @classmethod
    def runner(cls, emulator: ServerProcess) -> TapTestRunner:  # type: ignore[override]
        runner = TapTestRunner(
            tap_class=TapEndorLabs,
            config=tap_config(emulator.url),
            suite_config=None,
            parse_env_config=False,
        )
        runner.sync_all()
        return runner
