"""Fixtures shared by every test: the local S3 server (and its fault proxy) and the emulator.

Each is a real HTTP server in a child process (see ``tests/support/servers.py``).
A test that needs its own emulator flags (faults, sizes, token lifetime) uses
``emulator_factory``; everything else shares the session-wide ``emulator``.
"""

from __future__ import annotations

import json
import os
import resource
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from hypothesis import HealthCheck, settings

from tests.support.servers import (
    ServerProcess,
    start_emulator,
    start_local_s3,
    start_s3_fault_proxy,
)

# Speed is measured in benchmarks/, never asserted by a test: hypothesis's per-example
# deadline (200 ms) and its too-slow health check fail on a loaded CI machine without any
# fault in the code (seen: a 0.07 ms example took 281 ms once while both cores were busy).
settings.register_profile("connector", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("connector")

# Dummy credentials for moto; set explicitly so no test ever reaches a real
# AWS account through the developer's own credential chain.
S3_TEST_CREDENTIALS = {
    "aws_access_key_id": "testing",
    "aws_secret_access_key": "testing-secret",
    "region_name": "us-east-1",
}
# The emulator's default credentials (see tests/emulator --help).
EMULATOR_KEY = "demo-key"
EMULATOR_SECRET = "demo-secret"
EMULATOR_NAMESPACE = "acme"


@pytest.fixture(autouse=True)
def _no_real_aws(monkeypatch: pytest.MonkeyPatch) -> None:
    """Point boto3's credential chain at dummy values for every test."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", S3_TEST_CREDENTIALS["aws_access_key_id"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", S3_TEST_CREDENTIALS["aws_secret_access_key"])
    monkeypatch.setenv("AWS_DEFAULT_REGION", S3_TEST_CREDENTIALS["region_name"])
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


@pytest.fixture(scope="session")
def local_s3() -> Iterator[ServerProcess]:
    """Moto's S3 server in a child process, for the whole session."""
    with start_local_s3() as server:
        yield server


@pytest.fixture(scope="session")
def s3_endpoint(local_s3: ServerProcess) -> str:
    """The local S3 endpoint URL (``http://127.0.0.1:PORT``)."""
    return local_s3.url


@pytest.fixture(scope="session")
def s3_client(s3_endpoint: str) -> Any:
    """A boto3 S3 client for the local server, used by tests to inspect results."""
    return boto3.client("s3", endpoint_url=s3_endpoint, **S3_TEST_CREDENTIALS)


@pytest.fixture
def s3_proxy(local_s3: ServerProcess) -> Iterator[ServerProcess]:
    """The fault-injecting proxy (tests/s3_fault_proxy.py) in front of the local S3, per test.

    Each test gets its own, so the faults it sets and the counts it reads are its own.
    """
    with start_s3_fault_proxy(local_s3.url) as proxy:
        yield proxy


@pytest.fixture
def bucket(s3_client: Any) -> str:
    """A new, empty bucket for one test."""
    name = f"test-{uuid.uuid4().hex[:20]}"
    s3_client.create_bucket(Bucket=name)
    return name


@pytest.fixture(scope="session")
def emulator() -> Iterator[ServerProcess]:
    """The Endor Labs emulator with its default data (seed 1), for the whole session.

    Tests must not change its faults or data: use ``emulator_factory`` for that.
    """
    with start_emulator("--seed", "1") as server:
        yield server


@pytest.fixture
def emulator_factory() -> Iterator[Callable[..., ServerProcess]]:
    """Start emulators with custom flags; all are stopped when the test ends."""
    started: list[ServerProcess] = []

    def start(*args: str) -> ServerProcess:
        server = start_emulator(*args)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


# ``TEST_CPU_REPORT=1 pytest ...`` prints the 30 tests that cost the most CPU. Wall time on a
# shared machine says more about the neighbours than about the test; CPU does not. A test's
# figure is its process's CPU plus that of the children it started and waited for
# (RUSAGE_CHILDREN grows when a child is reaped): servers from session fixtures are children
# of the session, so their CPU is counted only when they stop, in the test that ends last.
CPU_REPORT = os.environ.get("TEST_CPU_REPORT", "") not in {"", "0"}
CPU_BY_TEST: dict[str, float] = {}


def _cpu_seconds() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    """Record the CPU one test (setup, call and teardown) costs, with ``TEST_CPU_REPORT``."""
    if not CPU_REPORT:
        yield
        return
    before = _cpu_seconds()
    yield
    CPU_BY_TEST[item.nodeid] = _cpu_seconds() - before


def pytest_sessionfinish(session: pytest.Session) -> None:
    """With ``TEST_CPU_JSON=path``, every test's CPU seconds as JSON (nodeid -> seconds):
    per file, ``{worker}`` in the path is the xdist worker (``gw0``), else ``main``."""
    path = os.environ.get("TEST_CPU_JSON")
    if not path or not CPU_BY_TEST:
        return
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    with open(path.format(worker=worker), "w", encoding="utf-8") as out:
        json.dump(CPU_BY_TEST, out, indent=1, sort_keys=True)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Print the top 30 CPU costs (per worker process under xdist: run without ``-n``)."""
    if not CPU_BY_TEST:
        return
    terminalreporter.section("CPU seconds per test (own + reaped children), top 30")
    total = sum(CPU_BY_TEST.values())
    terminalreporter.write_line(f"{total:8.1f}  all {len(CPU_BY_TEST)} tests")
    for nodeid, seconds in sorted(CPU_BY_TEST.items(), key=lambda kv: -kv[1])[:30]:
        terminalreporter.write_line(f"{seconds:8.1f}  {nodeid}")


@pytest.hookimpl(trylast=True)  # after pytest-xdist's own, which names each test's group
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Run the modules that hold long tests first, each module's tests in their order.

    pytest-xdist hands tests out in collection order: a long campaign collected last
    would run alone at the end while the other workers idle. The long ones are the
    ``slow`` campaigns, then the tests that run real Meltano or the orchestration (they
    wait on Meltano's and the plugins' start-ups, so they overlap well with the rest).
    Whole modules move, so a module-scoped fixture (the campaign emulator) is still
    started once.
    """
    ranks = {"slow": 0, "meltano": 1, "orchestration": 1}
    module_rank: dict[Any, int] = {}
    for item in items:
        for marker, rank in ranks.items():
            if item.get_closest_marker(marker):
                module_rank[item.module] = min(module_rank.get(item.module, 2), rank)
    items.sort(key=lambda item: module_rank.get(item.module, 2))
    _check_xdist_groups(config, items)


def _check_xdist_groups(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Refuse to run when ``--dist loadgroup`` would silently not group.

    pytest-xdist marks a grouped test by adding ``@group`` to its node id; on pytest 9.2
    that rename no longer takes (pytest-dev/pytest-xdist#1386), and the tests of one
    ``xdist_group`` (the installed Meltano project) spread over the workers, each
    installing the project again. pyproject.toml pins pytest below 9.2 for that.
    """
    if not getattr(config.option, "loadgroup", False):
        return
    ungrouped = [
        item.nodeid
        for item in items
        if item.get_closest_marker("xdist_group") and "@" not in item.nodeid
    ]
    if ungrouped:
        raise pytest.UsageError(
            f"--dist loadgroup does not group {ungrouped[0]} (pytest-xdist#1386 on pytest "
            f"{pytest.__version__}): install the dev extra's pytest (`make install`)"
        )
