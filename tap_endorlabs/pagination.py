"""The one place where paging is decided: which cursor comes next, and when paging ends.

Window queries sort by the stream's time field and page with ``page_token``
(the API refuses ``page_id`` together with a sort: HTTP 400 "page id cannot be
provided with sort method").  But no official source shows a *sorted* response
carrying ``next_page_token``: the official SDK (``endorlabs`` on PyPI) pages by
``next_page_id`` first and ``next_page_token`` second
(``src/endorlabs/api_client.py``, ``ApiClient.get_all``), refuses ``page_id``
after a sort (``src/endorlabs/operations/pagination.py``,
``raise_if_page_id_with_sort``), and advises, for a sorted list, one page only
or "drop sort_by and paginate then order client-side".  A sorted page that is
full, or carries ``next_page_id``, yet no token is therefore not the end: it
means this API does not page sorted lists, and ``next_cursor`` raises
``SortedPagingUnavailableError`` so the caller reads the window the way the SDK
does (``page_id`` without sort, ordered by the tap; see ``client``).

A cursor the server hands out twice is a loop, not a page; ``CursorGuard``
stops it before the repeated page is asked for (the SDK's
``iter_paginated_pages`` keeps the same duplicate-cursor set, but only logs).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from tap_endorlabs.errors import PagingLoopError, SortedPagingUnavailableError

MAX_PAGE_SIZE = 500
MIN_PAGE_SIZE = 1
SORT_ASC = "SORT_ENTRY_ORDER_ASC"
SORT_DESC = "SORT_ENTRY_ORDER_DESC"


@dataclass(frozen=True)
class Cursor:
    """Where the next page starts: an offset-like token, or the last object's id."""

    page_token: int | None = None
    page_id: str | None = None

    def __str__(self) -> str:
        if self.page_id is not None:
            return f"page id {self.page_id}"
        return f"page token {self.page_token}"


@dataclass(frozen=True)
class ListQuery:
    """One list call's fixed parameters; the cursor is added per page."""

    path: str
    filter: str | None
    page_size: int
    sort_path: str | None = None
    sort_order: str = SORT_ASC
    traverse: bool = False
    #: Field paths the objects are cut to (``list_parameters.mask``); empty: whole objects.
    mask: tuple[str, ...] = ()

    @property
    def is_sorted(self) -> bool:
        """True when the server is asked to sort (and so ``page_id`` may not be sent)."""
        return self.sort_path is not None

    def unsorted(self) -> ListQuery:
        """The same query without the sort: pageable by ``page_id``, ordered by the caller."""
        return replace(self, sort_path=None)

    def count_params(self) -> dict[str, Any]:
        """Query-string parameters asking how many objects the query holds.

        Same filter, namespace and traverse as the pages; no sort, no cursor
        (the API answers ``count_response.count`` instead of objects).
        """
        params: dict[str, Any] = {"list_parameters.count": "true"}
        if self.filter:
            params["list_parameters.filter"] = self.filter
        if self.traverse:
            params["list_parameters.traverse"] = "true"
        return params

    def params(self, cursor: Cursor | None = None) -> dict[str, Any]:
        """Query-string parameters for one page.

        Raises:
            ValueError: for a ``page_id`` cursor on a sorted query (the API's 400).
        """
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
        if self.mask:
            params["list_parameters.mask"] = ",".join(self.mask)
        if cursor is not None and cursor.page_id is not None:
            if self.sort_path:
                msg = "page id cannot be provided with sort method"
                raise ValueError(msg)
            params["list_parameters.page_id"] = cursor.page_id
        elif cursor is not None and cursor.page_token is not None:
            params["list_parameters.page_token"] = cursor.page_token
        return params


def clamp_page_size(size: int) -> int:
    """Keep a page size within what the API accepts (1..500)."""
    return max(MIN_PAGE_SIZE, min(MAX_PAGE_SIZE, int(size)))


def _response(body: dict[str, Any]) -> dict[str, Any]:
    listing = body.get("list")
    response = listing.get("response") if isinstance(listing, dict) else None
    return response if isinstance(response, dict) else {}


def next_page_token(body: dict[str, Any]) -> int | None:
    """The response's ``next_page_token``; None when absent or proto3's zero ("none")."""
    token = _response(body).get("next_page_token")
    if token in (None, "", 0, "0"):
        return None
    try:
        return int(token)
    except (TypeError, ValueError):
        return None


def next_page_id(body: dict[str, Any]) -> str | None:
    """The response's ``next_page_id`` (uuid of the page's last object), or None."""
    page_id = _response(body).get("next_page_id")
    return str(page_id) if page_id not in (None, "") else None


def list_objects(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The objects of a list response (empty when there are none)."""
    listing = body.get("list")
    objects = listing.get("objects") if isinstance(listing, dict) else None
    return list(objects) if isinstance(objects, list) else []


def count_of(body: dict[str, Any]) -> int | None:
    """``count_response.count`` of a count answer; None when the answer is a list instead.

    proto3 leaves a zero out of JSON: ``{"count_response": {}}`` (or ``{}``) is 0.
    """
    if isinstance(body.get("list"), dict) and "count_response" not in body:
        return None
    response = body.get("count_response")
    value = response.get("count") if isinstance(response, dict) else None
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return None


def next_cursor(query: ListQuery, body: dict[str, Any]) -> Cursor | None:
    """The cursor of the page after ``body``, or None when ``body`` was the last page.

    Only a missing cursor ends the list: a page may hold fewer objects than
    asked for, even none, while a cursor says more follows (AIP-158; the tap
    once took an empty page for the end and lost the rest of the window).
    Unsorted queries prefer ``next_page_id`` (as the SDK does), then
    ``next_page_token``; with neither, the page was the last.  Sorted queries
    can only follow ``next_page_token``.

    Raises:
        SortedPagingUnavailableError: a sorted page came back full, or with
            ``next_page_id``, but without a token: more may follow, unreachable so.
    """
    objects = list_objects(body)
    token = next_page_token(body)
    page_id = next_page_id(body)
    if not query.is_sorted:
        if page_id is not None:
            return Cursor(page_id=page_id)
        return Cursor(page_token=token) if token is not None else None
    if token is not None:
        return Cursor(page_token=token)
    if page_id is not None or len(objects) >= clamp_page_size(query.page_size):
        msg = (
            f"a sorted page of {len(objects)} objects came back "
            f"{'with next_page_id' if page_id else 'full'} but without next_page_token"
        )
        raise SortedPagingUnavailableError(msg)
    return None


@dataclass
class CursorGuard:
    """Remembers every cursor of one query, so a repeated one stops paging."""

    seen: set[Cursor] = field(default_factory=set)

    def admit(self, cursor: Cursor) -> None:
        """Accept ``cursor`` as the next page's.

        Raises:
            PagingLoopError: when it was handed out before (same token or id twice).
        """
        if cursor in self.seen:
            raise PagingLoopError(cursor)
        self.seen.add(cursor)
