"""Threads: create, get, change metadata, search, count, delete."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Response, status

from threadloom.service.deps import ExistingThread, ServicesDep, canonical_id
from threadloom.service.errors import NotSupported, thread_exists
from threadloom.service.ids import new_id
from threadloom.service.json_codec import JsonResponse
from threadloom.service.schemas.responses import Thread, answers
from threadloom.service.schemas.threads import ThreadCount, ThreadCreate, ThreadPatch, ThreadSearch
from threadloom.service.storage.records import ThreadQuery

router = APIRouter(prefix="/threads", tags=["threads"])


@router.post("", responses=answers(Thread, 409, 501))
async def create_thread(services: ServicesDep, body: ThreadCreate | None = None) -> JsonResponse:
    body = body or ThreadCreate()
    if body.ttl is not None or body.supersteps:
        raise NotSupported("Thread TTLs and supersteps are not supported yet.")
    thread_id = canonical_id(body.thread_id, "thread") if body.thread_id else new_id()
    created = await services.threads.create(thread_id, body.metadata or {})
    if created is not None:
        return JsonResponse(created.to_api())
    existing = await services.threads.get(thread_id)
    if body.if_exists == "raise" or existing is None:
        raise thread_exists(thread_id)
    return JsonResponse(existing.to_api())


@router.post("/search", responses=answers(list[Thread]))
async def search_threads(services: ServicesDep, body: ThreadSearch | None = None) -> JsonResponse:
    body = body or ThreadSearch()
    query = ThreadQuery(
        ids=[canonical_id(i, "thread") for i in body.ids] if body.ids else None,
        metadata=body.metadata,
        values=body.values,
        status=body.status,
        limit=body.limit,
        offset=body.offset,
        sort_by=body.sort_by or "created_at",
        sort_order=body.sort_order or "desc",
    )
    threads = await services.threads.search(query)
    return JsonResponse([thread.to_api() for thread in threads])


@router.post("/count", responses=answers(int))
async def count_threads(services: ServicesDep, body: ThreadCount | None = None) -> JsonResponse:
    body = body or ThreadCount()
    query = ThreadQuery(metadata=body.metadata, values=body.values, status=body.status)
    return JsonResponse(await services.threads.count(query))


@router.get("/{thread_id}", responses=answers(Thread, 404))
async def get_thread(thread: ExistingThread) -> JsonResponse:
    return JsonResponse(thread.to_api())


@router.patch(
    "/{thread_id}",
    response_model=None,
    responses={**answers(Thread, 404), 204: {"description": "Nothing to change; no body."}},
)
async def patch_thread(
    thread: ExistingThread,
    body: ThreadPatch,
    services: ServicesDep,
    prefer: Annotated[str | None, Header()] = None,
) -> JsonResponse | Response:
    """Merge `metadata` into the thread's; `Prefer: return=minimal` answers 204 without it."""
    if body.ttl is not None:
        raise NotSupported("Thread TTLs are not supported yet.")
    await services.threads.merge_metadata(thread.thread_id, body.metadata or {})
    if prefer == "return=minimal":
        return Response(status_code=status.HTTP_204_NO_CONTENT)
    updated = await services.threads.get(thread.thread_id)
    return JsonResponse((updated or thread).to_api())


@router.delete(
    "/{thread_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=answers(None, 404, 409, status_code=204),
)
async def delete_thread(thread: ExistingThread, services: ServicesDep) -> Response:
    """Delete the thread, its runs and its checkpoints; its active runs are cancelled first."""
    await services.run_manager.delete_thread(thread.thread_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
