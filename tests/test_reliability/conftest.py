"""Fixtures for the reliability campaigns: a larger emulator, configs, buckets."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.servers import ServerProcess, start_emulator
from tests.test_pipeline.conftest import START_DATE, tap_config, target_config

# Seeded (same data every run): ~560 audit logs in the export window (3 namespaces, some
# before START_DATE), 48 scans of 4 findings.  Issue 23: the campaign's cost is mostly
# plugin start-ups (two per run) and lines pumped; 3,000 audit logs and 300 scans made
# every full run pump ~4,300 lines for nothing a run of ~1,200 does not show: pages,
# partitions, batches cut mid-scan and several states per run are all still there.
CAMPAIGN_EMULATOR_FLAGS = (
    "--seed",
    "11",
    "--audit-logs",
    "800",
    "--audit-days",
    "60",
    "--authentication-logs",
    "100",
    "--finding-logs",
    "30",
    "--projects",
    "8",
    "--scans-per-project",
    "6",
    "--findings-per-scan",
    "4",
)


@pytest.fixture(scope="module")
def campaign_emulator() -> Iterator[ServerProcess]:
    """An emulator with campaign-sized data; never mutated, so shared by a module."""
    with start_emulator(*CAMPAIGN_EMULATOR_FLAGS) as server:
        yield server


def campaign_tap_config(server: ServerProcess, **extra: Any) -> dict[str, Any]:
    """The tap's config: small pages so a run makes many requests."""
    return {**tap_config(server), "page_size": 100, **extra}


def campaign_target_config(endpoint: str, bucket: str, **extra: Any) -> dict[str, Any]:
    """The target's config: small batches and a short age, so states come often."""
    return {
        **target_config(endpoint, bucket),
        "batch_max_records": 200,
        "batch_max_age_seconds": 0.3,
        **extra,
    }


__all__ = ["START_DATE", "campaign_tap_config", "campaign_target_config"]
