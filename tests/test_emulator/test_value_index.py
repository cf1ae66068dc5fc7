"""Filters pinning an indexed path (``uuid in [...]``, ``context.id == ...``) answer from the index.

The index only chooses which records are looked at: every answer, page by page,
must be the one a scan of the whole table gives.  Checked in-process against
the same query with the index switched off (``pinned`` emptied).
"""

from __future__ import annotations

import dataclasses
import json
from functools import cache
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.emulator.data import DataConfig, Generator
from tests.emulator.listing import Lister, ListParams, plan
from tests.emulator.store import Store

NOW_US = 1_780_000_000 * 1_000_000
NAMESPACES = frozenset({"acme", "acme.platform", "acme.security"})


@cache
def _store() -> Store:
    store = Store()
    Generator(DataConfig(seed=5, projects=6, audit_logs=50), store).build(NOW_US)
    return store


def _pages(store: Store, resource: str, params: ListParams, *, indexed: bool) -> list[list[str]]:
    """Every page of the query, by ``page_id``, as uuid lists."""
    lister = Lister(store, cache_size=0)
    pages: list[list[str]] = []
    page_id: str | None = None
    while True:
        query = plan(
            store, resource, NAMESPACES, dataclasses.replace(params, page_id=page_id), now_us=NOW_US
        )
        if not indexed:
            query = dataclasses.replace(query, pinned=())
        body = json.loads(lister.page(query, dataclasses.replace(params, page_id=page_id)))
        pages.append([o["uuid"] for o in body["list"]["objects"]])
        page_id = body["list"]["response"].get("next_page_id")
        if page_id is None:
            return pages
        assert len(pages) < 1000, "paging does not advance"


def _values(resource: str, path: str) -> list[str]:
    out: list[str] = []
    for record in _store().tables[resource]:
        node: Any = record.data()
        for part in path.split("."):
            node = node.get(part) if isinstance(node, dict) else None
        if isinstance(node, str) and node not in out:
            out.append(node)
    return out


@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_pinned_queries_answer_as_a_full_scan_does(data: st.DataObject) -> None:
    resource = data.draw(st.sampled_from(["findings", "scan-results"]))
    uuids = [*_values(resource, "uuid"), "ffffffff0000000000000000"]
    projects = _values(resource, "spec.project_uuid") or _values(resource, "meta.parent_uuid")
    contexts = _values(resource, "context.id")
    clauses = []
    chosen = data.draw(st.lists(st.sampled_from(uuids), min_size=1, max_size=30))
    if data.draw(st.booleans()):
        clauses.append("uuid in [" + ", ".join(f"'{u}'" for u in chosen) + "]")
    if data.draw(st.booleans()):
        path = "spec.project_uuid" if resource == "findings" else "meta.parent_uuid"
        clauses.append(f"{path} == '{data.draw(st.sampled_from(projects))}'")
    if data.draw(st.booleans()):
        clauses.append(f"context.id == {data.draw(st.sampled_from(contexts))}")
    if data.draw(st.booleans()):
        clauses.append("context.type in [CONTEXT_TYPE_MAIN, CONTEXT_TYPE_CI_RUN]")
    if data.draw(st.booleans()):
        clauses.append("meta.create_time >= now(-400h)")
    params = ListParams(
        filter=" and ".join(clauses) or None,
        page_size=data.draw(st.integers(min_value=1, max_value=7)),
    )
    indexed = _pages(_store(), resource, params, indexed=True)
    assert indexed == _pages(_store(), resource, params, indexed=False)
    sorted_params = dataclasses.replace(params, sort_path="meta.create_time", page_size=500)
    lister = Lister(_store(), cache_size=0)
    with_index = plan(_store(), resource, NAMESPACES, sorted_params, now_us=NOW_US)
    without = dataclasses.replace(with_index, pinned=())
    assert lister.page(with_index, sorted_params) == lister.page(without, sorted_params)
