"""A thread's checkpointed state: the latest, one checkpoint, and the history (newest first)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query

from service.deps import ExistingThread, ServicesDep
from service.json_codec import JsonResponse
from service.schemas.threads import HistoryRequest
from service.thread_state import thread_state

router = APIRouter(prefix="/threads/{thread_id}", tags=["thread state"])


@router.get("/state")
async def get_state(thread: ExistingThread, services: ServicesDep) -> JsonResponse:
    snapshot = await services.graph.aget_state(_config(thread.thread_id))
    return JsonResponse(thread_state(snapshot))


@router.get("/state/{checkpoint_id}")
async def get_state_at(
    checkpoint_id: str, thread: ExistingThread, services: ServicesDep
) -> JsonResponse:
    snapshot = await services.graph.aget_state(
        _config(thread.thread_id, {"checkpoint_id": checkpoint_id})
    )
    return JsonResponse(thread_state(snapshot))


@router.post("/history")
async def post_history(
    thread: ExistingThread, services: ServicesDep, body: HistoryRequest | None = None
) -> JsonResponse:
    return await _history(thread.thread_id, body or HistoryRequest(), services)


@router.get("/history")
async def get_history(
    thread: ExistingThread,
    services: ServicesDep,
    limit: int = Query(1, ge=1, le=1000),  # LangGraph Server's GET default; POST's is 10
    before: str | None = None,
) -> JsonResponse:
    return await _history(thread.thread_id, HistoryRequest(limit=limit, before=before), services)


async def _history(thread_id: str, body: HistoryRequest, services: ServicesDep) -> JsonResponse:
    before = body.before
    if isinstance(before, str):
        before = {"checkpoint_id": before}
    states = [
        thread_state(snapshot)
        async for snapshot in services.graph.aget_state_history(
            _config(thread_id, body.checkpoint),
            filter=body.metadata,
            before=_config(thread_id, before) if before else None,
            limit=body.limit,
        )
    ]
    return JsonResponse(states)


def _config(thread_id: str, checkpoint: dict[str, Any] | None = None) -> dict[str, Any]:
    """A config for the thread's root graph, pointing at `checkpoint` when one is given."""
    return {"configurable": {"checkpoint_ns": "", **(checkpoint or {}), "thread_id": thread_id}}
