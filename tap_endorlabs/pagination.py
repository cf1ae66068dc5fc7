"""The one place where paging is decided.

Every list call sorts (by the stream's time field, ascending) and therefore pages
with ``page_token``, the offset-like token: the API refuses ``page_id`` together
with a sort (HTTP 400).  Offsets are stable because every query has a fixed lower
bound and the sort field only grows: new objects land after the last page.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

MAX_PAGE_SIZE = 500
MIN_PAGE_SIZE = 1
SORT_ASC = "SORT_ENTRY_ORDER_ASC"
SORT_DESC = "SORT_ENTRY_ORDER_DESC"


@dataclass(frozen=True)
class ListQuery:
    """One list call's fixed parameters; the page token is added per page."""

    path: str
    filter: str | None
    page_size: int
    sort_path: str | None = None
    sort_order: str = SORT_ASC
    traverse: bool = False

    def params(self, page_token: int | None) -> dict[str, Any]:
        """Query-string parameters for one page (never ``page_id``)."""
        params: dict[str, Any] = {
            "list_parameters.page_size": clamp_page_size(self.page_size),
        }
        if self.filter:
            params["list_parameters.filter"] = self.filter
        if self.sort_path:
            params["list_parameters.sort.path"] = self.sort_path
            params["list_parameters.sort.order"] = self.sort_order
        if self.traverse:
            params["list_parameters.traverse"] = "true"
        if page_token is not None:
            params["list_parameters.page_token"] = page_token
        return params


def clamp_page_size(size: int) -> int:
    """Keep a page size within what the API accepts (1..500)."""
    return max(MIN_PAGE_SIZE, min(MAX_PAGE_SIZE, int(size)))


def next_page_token(body: dict[str, Any]) -> int | None:
    """The token of the next page from a list response, or None on the last page."""
    response = (body.get("list") or {}).get("response") or {}
    token = response.get("next_page_token")
    if token in (None, "", 0, "0"):
        return None
    return int(token)


def list_objects(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The objects of a list response (empty when there are none)."""
    return list((body.get("list") or {}).get("objects") or [])
