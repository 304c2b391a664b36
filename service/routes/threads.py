"""Threads: create, get, change metadata, search, count, delete."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Response, status

from threadloom.service.auth.policy import authorize
from threadloom.service.errors import NotSupported, thread_exists, thread_not_found
from threadloom.service.http.deps import ExistingThread, ServicesDep, ThreadToDelete
from threadloom.service.http.json_codec import JsonResponse
from threadloom.service.ids import canonical_id, new_id
from threadloom.service.schemas.responses import Thread, answers, selectable
from threadloom.service.schemas.threads import ThreadCount, ThreadCreate, ThreadPatch, ThreadSearch
from threadloom.service.storage.records import ThreadQuery, utc_now

router = APIRouter(prefix="/threads", tags=["threads"])


@router.post("", responses=answers(Thread, 409, 501))
async def create_thread(services: ServicesDep, body: ThreadCreate | None = None) -> JsonResponse:
    """Create a thread; `ttl` (or `checkpointer.ttl.default_ttl`) makes it expire."""
    body = body or ThreadCreate()
    if body.supersteps:
        raise NotSupported("Creating a thread from supersteps is not supported yet.")
    thread_id = canonical_id(body.thread_id, "thread") if body.thread_id else new_id()
    asked = {"thread_id": thread_id, "metadata": body.metadata or {}, "if_exists": body.if_exists}
    await authorize("threads", "create", asked)  # its handler may add to the metadata
    created = await services.threads.create(thread_id, asked["metadata"], body.ttl)
    if created is not None:
        return JsonResponse(created.to_api())
    existing = await services.threads.get(thread_id)
    if body.if_exists == "raise" or existing is None:
        raise thread_exists(thread_id)
    return JsonResponse(existing.to_api())


@router.post("/search", responses=answers(list[selectable(Thread)]))
async def search_threads(services: ServicesDep, body: ThreadSearch | None = None) -> JsonResponse:
    body = body or ThreadSearch()
    await authorize("threads", "search", _search_value(body))
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
    threads = [thread.to_api() for thread in await services.threads.search(query)]
    if body.select:
        threads = [{field: thread[field] for field in body.select} for thread in threads]
    return JsonResponse(threads)


@router.post("/count", responses=answers(int))
async def count_threads(services: ServicesDep, body: ThreadCount | None = None) -> JsonResponse:
    body = body or ThreadCount()
    await authorize("threads", "search", _search_value(body))
    query = ThreadQuery(metadata=body.metadata, values=body.values, status=body.status)
    return JsonResponse(await services.threads.count(query))


@router.get("/{thread_id}", responses=answers(Thread, 404))
async def get_thread(
    thread: ExistingThread, services: ServicesDep, include: str = ""
) -> JsonResponse:
    """The thread; `include=ttl` adds its `ttl` (strategy, minutes, expiry) if it has one."""
    answer = thread.to_api()
    if "ttl" in (part.strip() for part in include.split(",")):
        ttl = await services.threads.ttls.get(thread.thread_id)
        if ttl is not None:
            answer["ttl"] = ttl.to_api()
    return JsonResponse(answer)


@router.patch(
    "/{thread_id}",
    response_model=None,
    responses={**answers(Thread, 404), 204: {"description": "Nothing to change; no body."}},
)
async def patch_thread(
    thread_id: str,
    body: ThreadPatch,
    services: ServicesDep,
    prefer: Annotated[str | None, Header()] = None,
) -> JsonResponse | Response:
    """Merge `metadata` into the thread's and set its `ttl` if given (an update renews the
    TTL either way); `Prefer: return=minimal` answers 204 without it."""
    thread_id = canonical_id(thread_id, "thread")
    asked = {"thread_id": thread_id, "metadata": body.metadata or {}}
    await authorize("threads", "update", asked)  # its handler may change the metadata
    thread = await services.threads.get(thread_id)
    if thread is None:
        raise thread_not_found(thread_id)
    now = utc_now().timestamp()
    if body.ttl is not None:
        await services.threads.ttls.set(thread_id, body.ttl, now)
    else:
        await services.threads.ttls.renew(thread_id, now)
    await services.threads.merge_metadata(thread_id, asked["metadata"])
    if prefer == "return=minimal":
        return Response(status_code=status.HTTP_204_NO_CONTENT)
    updated = await services.threads.get(thread_id)
    return JsonResponse((updated or thread).to_api())


@router.delete(
    "/{thread_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=answers(None, 404, 409, status_code=204),
)
async def delete_thread(thread: ThreadToDelete, services: ServicesDep) -> Response:
    """Delete the thread, its runs and its checkpoints; its active runs are cancelled first."""
    await services.run_manager.delete_thread(thread.thread_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


def _search_value(body: ThreadSearch | ThreadCount) -> dict[str, Any]:
    """What a policy's `threads.search` handler receives (LangGraph's `ThreadsSearch`)."""
    return {
        "metadata": body.metadata or {},
        "values": body.values or {},
        "status": body.status,
        "limit": getattr(body, "limit", None),
        "offset": getattr(body, "offset", None),
        "ids": getattr(body, "ids", None),
    }
