"""Which requests read the findings a scan reported: the fewest the API's filters allow.

The API lists findings per project and context (``context.type`` and
``context.id``: the default branch, a branch, a PR run): one paged query
``spec.project_uuid == P and context.type == T and context.id == I`` returns
at most ``page_size`` (500) of a scan's findings per request, where
``uuid in [...]`` can name only about 100 (the URL stays near 4 KB).  But the
list holds the context's findings as they are now: a later scan of the same
context may have added findings (they are skipped: not this scan's), and
resolved ones disappear from the list (endor-api.md, Finding).  So:

- a scan reporting at most ``FINDINGS_CHUNK`` findings is one ``uuid in``
  request, which no query beats;
- a larger one is read by its context, paging stops once every reported uuid
  was seen, and whatever the context did not list is asked for by uuid, 100 at
  a time (a finding whose project or context differs from its scan's is still
  exported);
- what even that does not return (resolved since, or left out by
  ``finding_filter``) is reported to ``missing``: the run says so;
- with ``read_checked`` each ``uuid in`` query is read whole and checked
  against the API's count of the same query (``reconciliation.verified_objects``),
  so a row the API left out of a page is read again or stops the run, never
  taken for a resolved finding; ``tally`` adds up the counts and the findings
  read for the scan's ``reconciliations`` record (issue 19).  A finding the
  context query returned is its own proof: it counts once on both sides.

Plain functions over a page fetcher, so the rules are unit-tested without HTTP.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from tap_endorlabs.filters import all_of, equals, one_of
from tap_endorlabs.pagination import ListQuery, clamp_page_size
from tap_endorlabs.reconciliation import FindingsTally, VerifiedList

#: uuids per ``uuid in [...]`` query: ~100 x 40 characters keeps URLs near 4 KB.
FINDINGS_CHUNK = 100

Page = list[dict[str, Any]]
FetchPages = Callable[[ListQuery], Iterable[Page]]


def reported_uuids(scan: dict[str, Any]) -> list[str]:
    """The scan's ``spec.findings``, each once, in the scan's order."""
    found = ((scan.get("spec") or {}).get("findings")) or []
    return list(dict.fromkeys(str(uuid) for uuid in found if uuid))


def context_filter(scan: dict[str, Any]) -> str | None:
    """The findings of the scan's project and context; None when the scan lacks one of them."""
    project = (scan.get("meta") or {}).get("parent_uuid")
    context = scan.get("context") or {}
    if not project or not context.get("type") or not context.get("id"):
        return None
    return all_of(
        equals("spec.project_uuid", str(project)),
        equals("context.type", str(context["type"])),
        equals("context.id", str(context["id"])),
    )


def scan_findings(
    scan: dict[str, Any],
    fetch: FetchPages,
    *,
    path: str,
    page_size: int,
    finding_filter: str | None,
    missing: Callable[[list[str]], None],
    read_checked: Callable[[ListQuery], VerifiedList] | None = None,
    tally: FindingsTally | None = None,
) -> Iterator[Page]:
    """The findings ``scan`` reported, page by page, each once.

    ``path`` is the namespace's findings list; ``missing`` is called once, at
    the end, with the reported uuids no query returned (if any).
    """
    uuids = reported_uuids(scan)
    if not uuids:
        return
    wanted = set(uuids)
    by_context = context_filter(scan)
    if len(uuids) > FINDINGS_CHUNK and by_context is not None:
        query = ListQuery(
            path=path,
            filter=all_of(by_context, finding_filter),
            page_size=clamp_page_size(page_size),
        )
        for page in _reported(fetch(query), wanted):
            if tally is not None:
                tally.api_count += len(page)
                tally.read_count += len(page)
            yield page
    for begin in range(0, len(uuids), FINDINGS_CHUNK):
        chunk = [uuid for uuid in uuids[begin : begin + FINDINGS_CHUNK] if uuid in wanted]
        if not chunk:
            continue
        query = ListQuery(
            path=path,
            filter=all_of(one_of("uuid", chunk), finding_filter),
            page_size=len(chunk),
        )
        if read_checked is None:
            yield from _reported(fetch(query), wanted)
            continue
        checked = read_checked(query)
        page = [obj for obj in checked.objects if str(obj.get("uuid")) in wanted]
        wanted.difference_update(str(obj.get("uuid")) for obj in page)
        if tally is not None:
            tally.api_count += checked.api_count
            tally.read_count += len(page)
        if page:
            yield page
    if wanted:
        missing([uuid for uuid in uuids if uuid in wanted])


def _reported(pages: Iterable[Page], wanted: set[str]) -> Iterator[Page]:
    """The objects of ``pages`` still ``wanted`` (each taken out as it comes); stops when none is.

    Paging stops early (the rest of the context is other scans' findings) and
    the page fetcher is closed, so no request is left running.
    """
    source = iter(pages)
    try:
        for objects in source:
            page = []
            for obj in objects:
                uuid = str(obj.get("uuid"))
                if uuid in wanted:
                    wanted.discard(uuid)
                    page.append(obj)
            if page:
                yield page
            if not wanted:
                return
    finally:
        close = getattr(source, "close", None)
        if close is not None:
            close()
