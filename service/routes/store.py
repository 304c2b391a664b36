"""The Store API: items under namespaces, shared by every thread of an owner (see
`service.storage.store_items`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

from fastapi import APIRouter, Depends, Response, status

from threadloom.service.auth.policy import authorize_store
from threadloom.service.errors import BadRequest, InvalidRequest
from threadloom.service.http.deps import ServicesDep
from threadloom.service.http.json_codec import JsonResponse
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
    """Create or replace an item; `ttl` (minutes) makes it expire; with a `store.index`,
    `index` (false, or the fields to embed) overrides the index's fields for this item."""
    asked = {**body.model_dump(), "namespace": tuple(body.namespace)}
    await authorize_store("put", asked)
    namespace = _namespace(asked["namespace"])
    await store.put(
        namespace, asked["key"], asked["value"], ttl_minutes=asked["ttl"], index=asked["index"]
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/items", responses=answers(Item | None, 400, 404))
async def get_item(
    store: StoreDep, namespace: str = "", key: str | None = None, refresh_ttl: bool = True
) -> JsonResponse:
    """The item (`namespace` is its labels joined by periods), or null if there is none."""
    if not key:
        raise BadRequest("Key is required")
    asked = {
        "namespace": _namespace(namespace.split(SEPARATOR)),
        "key": key,
        "refresh_ttl": refresh_ttl,
    }
    await authorize_store("get", asked)
    item = await store.get(_namespace(asked["namespace"]), key, refresh_ttl=refresh_ttl)
    return JsonResponse(item.to_api() if item else None)


@router.delete(
    "/items",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=answers(None, 400, status_code=204),
)
async def delete_item(body: StoreDelete, store: StoreDep) -> Response:
    """Delete an item; deleting one that does not exist is no error."""
    asked = {"namespace": tuple(body.namespace), "key": body.key}
    await authorize_store("delete", asked)
    await store.delete(_namespace(asked["namespace"]), asked["key"])
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/items/search", responses=answers(SearchItems, 400))
async def search_items(body: StoreSearch, store: StoreDep) -> JsonResponse:
    """Items under a namespace prefix: most recently updated first, or with a `store.index`
    and a `query` most similar first, each with its `score` (see `StoreItems.search`)."""
    asked = {**body.model_dump(), "namespace": tuple(body.namespace_prefix or ())}
    del asked["namespace_prefix"]
    scoped = await authorize_store("search", asked)
    wanted = dict(body.filter or {})
    for field, value in (scoped or {}).items():
        if field in wanted and wanted[field] != value:
            return JsonResponse({"items": []})  # the caller asked for what the policy hides
        wanted[field] = value
    query = ItemQuery(
        namespace_prefix=_namespace(asked["namespace"]),
        filter=wanted,
        query=body.query,
        limit=body.limit,
        offset=body.offset,
    )
    items = await store.search(query, refresh_ttl=body.refresh_ttl is not False)
    return JsonResponse({"items": [{**item.to_api(), "score": item.score} for item in items]})


@router.post("/namespaces", responses=answers(Namespaces, 400))
async def list_namespaces(store: StoreDep, body: StoreListNamespaces | None = None) -> JsonResponse:
    body = body or StoreListNamespaces()
    asked = {**body.model_dump(), "namespace": tuple(body.prefix or ())}
    del asked["prefix"]
    await authorize_store("list_namespaces", asked)
    namespaces = await store.list_namespaces(
        prefix=_namespace(asked["namespace"] or ()),
        suffix=_namespace(asked["suffix"] or ()),
        max_depth=body.max_depth,
        limit=body.limit,
        offset=body.offset,
    )
    return JsonResponse({"namespaces": [list(namespace) for namespace in namespaces]})


def _namespace(labels: Sequence[str]) -> tuple[str, ...]:
    """A namespace as the request (or the auth policy's handler, which may rewrite it) gave
    it; 422 for a label the store cannot hold."""
    try:
        return tuple(check_labels([str(label) for label in labels]))
    except ValueError as exc:
        raise InvalidRequest(str(exc)) from None
