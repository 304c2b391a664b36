"""The Store API: items under namespaces, shared by every thread of an owner (see
`service.storage.store_items`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Response, status

from threadloom.service.deps import ServicesDep
from threadloom.service.errors import BadRequest, InvalidRequest
from threadloom.service.json_codec import JsonResponse
from threadloom.service.schemas.responses import Item, Namespaces, SearchItems, answers
from threadloom.service.schemas.store import (
    StoreDelete,
    StoreListNamespaces,
    StorePut,
    StoreSearch,
    check_labels,
)
from threadloom.service.storage.store_items import SEPARATOR, ItemQuery, StoreItems

router = APIRouter(prefix="/store", tags=["store"])


async def _store_items(services: ServicesDep) -> StoreItems:
    return services.store_items


StoreDep = Annotated[StoreItems, Depends(_store_items)]


@router.put(
    "/items",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=answers(None, 400, status_code=204),
)
async def put_item(body: StorePut, store: StoreDep) -> Response:
    """Create or replace an item; `ttl` (minutes) makes it expire."""
    await store.put(tuple(body.namespace), body.key, body.value, ttl_minutes=body.ttl)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/items", responses=answers(Item | None, 400, 404))
async def get_item(
    store: StoreDep, namespace: str = "", key: str | None = None, refresh_ttl: bool = True
) -> JsonResponse:
    """The item (`namespace` is its labels joined by periods), or null if there is none."""
    if not key:
        raise BadRequest("Key is required")
    try:
        labels = check_labels(namespace.split(SEPARATOR))
    except ValueError as exc:
        raise InvalidRequest(str(exc)) from None
    item = await store.get(tuple(labels), key, refresh_ttl=refresh_ttl)
    return JsonResponse(item.to_api() if item else None)


@router.delete(
    "/items",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=answers(None, 400, status_code=204),
)
async def delete_item(body: StoreDelete, store: StoreDep) -> Response:
    """Delete an item; deleting one that does not exist is no error."""
    await store.delete(tuple(body.namespace), body.key)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/items/search", responses=answers(SearchItems, 400))
async def search_items(body: StoreSearch, store: StoreDep) -> JsonResponse:
    """Items under a namespace prefix, most recently updated first (see `StoreItems.search`)."""
    query = ItemQuery(
        namespace_prefix=tuple(body.namespace_prefix or ()),
        filter=body.filter or {},
        query=body.query,
        limit=body.limit,
        offset=body.offset,
    )
    items = await store.search(query, refresh_ttl=body.refresh_ttl is not False)
    # No vector index, so no similarity score.
    return JsonResponse({"items": [{**item.to_api(), "score": None} for item in items]})


@router.post("/namespaces", responses=answers(Namespaces, 400))
async def list_namespaces(store: StoreDep, body: StoreListNamespaces | None = None) -> JsonResponse:
    body = body or StoreListNamespaces()
    namespaces = await store.list_namespaces(
        prefix=tuple(body.prefix or ()),
        suffix=tuple(body.suffix or ()),
        max_depth=body.max_depth,
        limit=body.limit,
        offset=body.offset,
    )
    return JsonResponse({"namespaces": [list(namespace) for namespace in namespaces]})
