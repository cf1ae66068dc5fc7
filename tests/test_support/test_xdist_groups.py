"""``make test`` refuses to run when ``--dist loadgroup`` would silently not group.

On pytest 9.2 pytest-xdist 3.8's group suffix (``@group`` on the node id) no longer
takes (pytest-dev/pytest-xdist#1386): the Meltano project was installed on three workers.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from tests.conftest import _check_xdist_groups


def _item(nodeid: str, group: str | None) -> Any:
    marker = pytest.mark.xdist_group(group).mark if group else None
    return SimpleNamespace(nodeid=nodeid, get_closest_marker=lambda name: marker)


def _config(loadgroup: bool) -> Any:
    return SimpleNamespace(option=SimpleNamespace(loadgroup=loadgroup))


def test_a_grouped_test_without_its_group_suffix_stops_the_run() -> None:
    items = [_item("tests/a.py::t1", None), _item("tests/a.py::t2", "meltano-project")]
    with pytest.raises(
        pytest.UsageError, match=r"does not group tests/a.py::t2 \(pytest-xdist#1386"
    ):
        _check_xdist_groups(_config(True), items)


def test_grouped_tests_with_their_suffix_or_no_loadgroup_pass() -> None:
    _check_xdist_groups(_config(True), [_item("tests/a.py::t2@meltano-project", "meltano-project")])
    _check_xdist_groups(_config(False), [_item("tests/a.py::t2", "meltano-project")])
