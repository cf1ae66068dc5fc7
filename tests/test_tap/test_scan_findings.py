"""Which requests read a scan's findings (``scan_findings``), over a fake findings list.

The fake answers list queries with the emulator's own filter evaluator, page
by page.  The invariant: every finding a scan reported that the API still
lists (and ``finding_filter`` keeps) comes out exactly once, the rest is
reported missing, and the requests are the fewest the filters allow: one
``uuid in`` query for a small scan, the context's pages (stopping once every
reported finding was seen) and uuid queries only for what the context lacked.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from tap_endorlabs.pagination import ListQuery
from tap_endorlabs.scan_findings import FINDINGS_CHUNK, context_filter, scan_findings
from tests.emulator.filters import compile_filter, parse

PROJECT = "p-1"
CONTEXT = {"type": "CONTEXT_TYPE_MAIN", "id": "default"}
OTHER = {"type": "CONTEXT_TYPE_REF", "id": "feature"}


@dataclass
class FakeFindings:
    """Findings in uuid order, listed page by page (``page_id`` style: each page after the last)."""

    objects: list[dict[str, Any]]
    queries: list[ListQuery] = field(default_factory=list)
    requests: int = 0

    def fetch(self, query: ListQuery) -> Any:
        self.queries.append(query)
        keep = compile_filter(parse(query.filter or "", 0)) if query.filter else None
        matches = [o for o in self.objects if keep is None or keep(o)]
        for begin in range(0, max(1, len(matches)), query.page_size):
            self.requests += 1
            yield matches[begin : begin + query.page_size]


def finding(uuid: str, context: dict[str, str], level: str) -> dict[str, Any]:
    return {
        "uuid": uuid,
        "spec": {"project_uuid": PROJECT, "level": level},
        "context": dict(context),
    }


def scan_of(uuids: list[str]) -> dict[str, Any]:
    return {
        "uuid": "scan-1",
        "meta": {"parent_uuid": PROJECT},
        "context": dict(CONTEXT),
        "spec": {"findings": uuids},
    }


def read(
    fake: FakeFindings, scan: dict[str, Any], page_size: int, finding_filter: str | None
) -> tuple[list[str], list[list[str]]]:
    missing: list[list[str]] = []
    pages = scan_findings(
        scan,
        fake.fetch,
        path="/v1/namespaces/acme/findings",
        page_size=page_size,
        finding_filter=finding_filter,
        missing=missing.append,
    )
    return [str(f["uuid"]) for page in pages for f in page], missing


FATES = st.sampled_from(["context", "elsewhere", "gone"])


@settings(max_examples=80, deadline=None)
@given(
    fates=st.lists(FATES, max_size=330),
    extras=st.integers(min_value=0, max_value=400),
    page_size=st.sampled_from([1, 7, 100, 500]),
    levels=st.randoms(use_true_random=False),
    filtered=st.booleans(),
)
def test_every_reported_finding_the_api_lists_comes_out_once_the_rest_is_reported(
    fates: list[str], extras: int, page_size: int, levels: Any, filtered: bool
) -> None:
    reported = [f"f{n:05d}" for n in range(len(fates))]
    objects = []
    for uuid, fate in zip(reported, fates, strict=True):
        level = levels.choice(["HIGH", "LOW"])
        if fate != "gone":
            objects.append(finding(uuid, CONTEXT if fate == "context" else OTHER, level))
    objects += [finding(f"x{n:05d}", CONTEXT, "HIGH") for n in range(extras)]
    objects.sort(key=lambda o: o["uuid"])
    fake = FakeFindings(objects)
    finding_filter = 'spec.level == "HIGH"' if filtered else None
    out, missing = read(fake, scan_of(reported), page_size, finding_filter)
    listed = {
        o["uuid"]
        for o in objects
        if o["uuid"] in set(reported) and (not filtered or o["spec"]["level"] == "HIGH")
    }
    assert len(out) == len(set(out))
    assert set(out) == listed
    assert missing == (
        [[u for u in reported if u not in listed]] if listed != set(reported) else []
    )
    # The fewest requests: one query for a small scan; else the context's pages
    # (at most all of them) and uuid queries for what it lacked, 100 at a time.
    if not reported:
        assert fake.requests == 0
    elif len(reported) <= FINDINGS_CHUNK:
        assert fake.requests == 1
    else:
        in_context = [o for o in objects if o["context"] == CONTEXT]
        lacked = sum(1 for u, fate in zip(reported, fates, strict=True) if fate != "context")
        if filtered:
            lacked = len(reported) - sum(
                1 for o in in_context if o["uuid"] in set(reported) and o["spec"]["level"] == "HIGH"
            )
            in_context = [o for o in in_context if o["spec"]["level"] == "HIGH"]
        most = max(1, math.ceil(len(in_context) / min(page_size, 500)))
        assert fake.requests <= most + math.ceil(lacked / FINDINGS_CHUNK)


def test_a_large_scan_is_read_by_its_context_500_at_a_time() -> None:
    reported = [f"f{n:05d}" for n in range(1200)]
    later = [finding(f"x{n:05d}", CONTEXT, "HIGH") for n in range(2000)]  # a later scan's
    fake = FakeFindings([finding(u, CONTEXT, "HIGH") for u in reported] + later)
    out, missing = read(fake, scan_of(reported), 500, None)
    assert out == reported
    assert not missing
    # Three pages, and no request past the last reported finding.
    assert fake.requests == 3
    assert {q.filter for q in fake.queries} == {context_filter(scan_of(reported))}


def test_a_small_scan_is_one_uuid_query() -> None:
    reported = [f"f{n:05d}" for n in range(60)]
    fake = FakeFindings([finding(u, CONTEXT, "HIGH") for u in reported])
    out, missing = read(fake, scan_of(reported), 500, None)
    assert out == reported
    assert not missing
    assert fake.requests == 1
    assert fake.queries[0].filter is not None
    assert fake.queries[0].filter.startswith("uuid in [")


def test_a_scan_without_project_or_context_is_read_by_uuid() -> None:
    reported = [f"f{n:05d}" for n in range(250)]
    scan = scan_of(reported)
    del scan["context"]
    fake = FakeFindings([finding(u, CONTEXT, "HIGH") for u in reported])
    out, _ = read(fake, scan, 500, None)
    assert out == reported
    assert fake.requests == 3
