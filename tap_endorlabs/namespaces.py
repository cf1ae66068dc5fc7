"""Which namespaces a run reads: the tenant alone, or the tenant and its descendants.

With ``include_child_namespaces`` every stream is partitioned by namespace, so
the SDK keeps one bookmark per (stream, namespace): a namespace that becomes
readable later (a key propagated to it, a namespace moved under the tenant)
starts from ``start_date`` instead of hiding its older objects behind a
bookmark taken while it was invisible.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tap_endorlabs.api import Subject
from tap_endorlabs.errors import AccessDeniedError, FatalTapError
from tap_endorlabs.pagination import MAX_PAGE_SIZE, ListQuery
from tap_endorlabs.reconciliation import verified_objects

if TYPE_CHECKING:
    from tap_endorlabs.api import EndorApi


def namespaces_query(tenant: str) -> ListQuery:
    """Every namespace under the tenant (the API's traverse option), any depth."""
    return ListQuery(
        path=f"/v1/namespaces/{tenant}/namespaces",
        filter=None,
        page_size=MAX_PAGE_SIZE,
        traverse=True,
    )


def partition_names(tenant: str, descendants: list[str]) -> list[str]:
    """The tenant first, then its descendants sorted: a stable order for the state."""
    return [tenant, *sorted({name for name in descendants if name and name != tenant})]


def full_name(namespace: dict[str, Any]) -> str:
    """A Namespace object's full name: ``spec.full_name``, else parent + "." + name.

    The official SDK falls back the same way when ``spec.full_name`` is absent;
    an object with neither gives "" (and is left out by ``partition_names``).
    """
    given = (namespace.get("spec") or {}).get("full_name")
    if given:
        return str(given)
    parent = (namespace.get("tenant_meta") or {}).get("namespace")
    name = (namespace.get("meta") or {}).get("name")
    if not name:
        return ""
    return f"{parent}.{name}" if parent else str(name)


def list_namespaces(api: EndorApi, tenant: str) -> list[str]:
    """The tenant and the full name of every namespace under it.

    Raises:
        FatalTapError: when the key may not list the tenant's namespaces.
    """
    names: list[str] = []
    try:
        subject = Subject("namespaces", tenant, None)
        # Checked against the API's count like every list the tap reads: a
        # namespace left out would be a partition never exported.
        listed = verified_objects(api, namespaces_query(tenant), subject)
        names.extend(full_name(obj) for obj in listed.objects)
    except AccessDeniedError as exc:
        msg = (
            f"The API key cannot list the namespaces under {tenant!r} (HTTP 403: "
            f"{exc.api_message}): set "
            "include_child_namespaces: false, or use a key with read access to the "
            "child namespaces."
        )
        raise FatalTapError(msg) from None
    return partition_names(tenant, names)
