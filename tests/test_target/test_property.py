"""Issue 11: the real target against generated Singer input from any tap.

``target-s3-endor``'s command line runs against the local S3 (one moto server, a
fresh versioned bucket per example) and is fed a ``Scenario`` from
``singer_streams.py`` one line at a time: in this process (``property_harness.drive``,
which observes the target whenever it asks for its next line), and, for a few
examples, also as a process fed through a pipe (``drive_process``, which observes it
when it blocks reading; ~1 s of CPU more per example, for start-up), where the two
must observe the same.  The
invariants (``property_harness.INVARIANTS``): every record received is in S3
exactly as sent; every scan object is whole; a state is printed only once every
record before it is in S3, and is a STATE received; the last state received is
the last printed; no key ever shrinks; every name written is safe, decodable and
distinct for distinct inputs; no traceback, exit code 0.

Examples are derandomized (the same ones every run) and the database is off,
so ``make test`` is deterministic; ``-m slow`` runs many more and shrinks a
failure to a minimal input.  Minimal failures found this way are the plain
tests of ``test_any_tap_input.py``.
"""

from __future__ import annotations

import tempfile
import uuid
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings

from tests.conftest import S3_TEST_CREDENTIALS
from tests.test_target.property_harness import INVARIANTS, Bucket, Run, drive, drive_process
from tests.test_target.singer_streams import Scenario, canonical, scenarios

FAST = settings(
    max_examples=25,
    derandomize=True,
    database=None,
    deadline=None,
    # No shrinking here: a failure is reported as found, within the time budget.
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.function_scoped_fixture,  # _no_real_aws only sets environment variables
    ],
)
SLOW = settings(FAST, max_examples=150, phases=list(Phase))
PROCESS = settings(
    FAST,
    max_examples=2,
    suppress_health_check=[*FAST.suppress_health_check, HealthCheck.filter_too_much],
)
Driver = Callable[[Scenario, dict[str, Any], Bucket, Path], Run]


def target_base_config(endpoint: str, bucket: str) -> dict[str, Any]:
    """Settings every example shares; the scenario adds batch limits and formats."""
    return {
        "bucket": bucket,
        "endpoint_url": endpoint,
        "region": S3_TEST_CREDENTIALS["region_name"],
        "aws_access_key_id": S3_TEST_CREDENTIALS["aws_access_key_id"],
        "aws_secret_access_key": S3_TEST_CREDENTIALS["aws_secret_access_key"],
        "exporter_name": "any-tap",
        "max_attempts": 2,
    }


def run_scenario(scenario: Scenario, s3_endpoint: str, s3_client: Any, driver: Driver) -> Run:
    """One run of a scenario on a fresh versioned bucket."""
    name = f"prop-{uuid.uuid4().hex[:20]}"
    s3_client.create_bucket(Bucket=name)
    s3_client.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    with tempfile.TemporaryDirectory(prefix="singer-prop-") as workdir:
        return driver(
            scenario, target_base_config(s3_endpoint, name), Bucket(s3_client, name), Path(workdir)
        )


def run_and_check(
    scenario: Scenario, s3_endpoint: str, s3_client: Any, driver: Driver = drive
) -> Run:
    """One example: a fresh versioned bucket, a run, every invariant."""
    run = run_scenario(scenario, s3_endpoint, s3_client, driver)
    for check in INVARIANTS.values():
        check(scenario, run)
    return run


def observed(run: Run) -> tuple[Any, ...]:
    """What a run showed, less its random batch ids: exit, prints, records, versions."""
    return (
        run.returncode,
        [(state.consumed, state.text, state.stored) for state in run.prints],
        Counter(canonical(record) for records in run.objects.values() for record in records),
        sorted(len(versions) for versions in run.history.values()),
    )


@FAST
@given(scenario=scenarios())
def test_any_tap_input_is_stored_whole(
    scenario: Scenario, s3_endpoint: str, s3_client: Any
) -> None:
    run_and_check(scenario, s3_endpoint, s3_client)


@pytest.mark.slow
@SLOW
@given(scenario=scenarios())
def test_any_tap_input_is_stored_whole_many_examples(
    scenario: Scenario, s3_endpoint: str, s3_client: Any
) -> None:
    run_and_check(scenario, s3_endpoint, s3_client)


def drains_and_states(scenario: Scenario) -> bool:
    """A scenario whose states come out as it runs: a drain after every record, 2+ states."""
    states = [step for step in scenario.steps if step.message["type"] == "STATE"]
    return scenario.config["batch_max_age_seconds"] == 0 and len(states) >= 2


@PROCESS
@given(scenario=scenarios().filter(drains_and_states))
def test_the_target_process_shows_what_the_in_process_run_shows(
    scenario: Scenario, s3_endpoint: str, s3_client: Any
) -> None:
    """Through the process's pipes, every invariant holds and the observations are those of
    the in-process run (``drive``): the same states at the same lines, the same bucket."""
    process = run_and_check(scenario, s3_endpoint, s3_client, drive_process)
    assert observed(process) == observed(run_scenario(scenario, s3_endpoint, s3_client, drive))
