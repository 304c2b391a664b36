"""Runs on a thread: stream one, wait for one, list, get, and join a run (its result or stream)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Query
from sse_starlette import EventSourceResponse
from starlette.responses import StreamingResponse

from service.deps import ExistingThread, RunId, ServicesDep, ThreadId
from service.errors import InvalidRequest, NotFound
from service.json_codec import JsonResponse
from service.runs.manager import ActiveRun
from service.schemas.runs import RunCreate
from service.sse import empty_event_stream, event_stream_response, run_result_response
from service.storage.records import RunStatus, ThreadRecord

router = APIRouter(prefix="/threads/{thread_id}/runs", tags=["runs"])


@router.post("/stream")
async def stream_run(
    thread_id: ThreadId, body: RunCreate, services: ServicesDep
) -> EventSourceResponse:
    """Start a run and stream its events (SSE) until it ends."""
    run = await services.run_manager.submit(thread_id, body)
    return event_stream_response(
        run,
        cancel_on_disconnect=body.on_disconnect == "cancel",
        resumable=body.stream_resumable,
        heartbeat_s=services.settings.heartbeat_s,
    )


@router.post("/wait")
async def wait_run(
    thread_id: ThreadId, body: RunCreate, services: ServicesDep
) -> StreamingResponse:
    """Start a run and answer with its final values (or `__error__` / `__interrupt__`)."""
    run = await services.run_manager.submit(thread_id, body)
    return run_result_response(
        run,
        cancel_on_disconnect=body.on_disconnect == "cancel",
        heartbeat_s=services.settings.heartbeat_s,
    )


@router.get("")
async def list_runs(
    thread: ExistingThread,
    services: ServicesDep,
    limit: int = Query(10, ge=1, le=1000),
    offset: int = Query(0, ge=0),
    status: RunStatus | None = None,
) -> JsonResponse:
    runs = await services.runs.list(thread.thread_id, limit=limit, offset=offset, status=status)
    return JsonResponse([run.to_api() for run in runs])


@router.get("/{run_id}")
async def get_run(thread_id: ThreadId, run_id: RunId, services: ServicesDep) -> JsonResponse:
    run = await services.runs.get(thread_id, run_id)
    if run is None:
        raise _run_not_found(run_id)
    return JsonResponse(run.to_api())


@router.get("/{run_id}/join")
async def join_run(thread_id: ThreadId, run_id: RunId, services: ServicesDep) -> JsonResponse:
    """Wait for the run to end and answer like `/wait`; for an ended run, the thread's result."""
    if active := _active(services, thread_id, run_id):
        return JsonResponse((await active.outcome()).result)
    if await services.runs.get(thread_id, run_id) is None:
        raise _run_not_found(run_id)
    thread = await services.threads.get(thread_id)
    return JsonResponse(_thread_result(thread) if thread else {})


@router.get("/{run_id}/stream")
async def join_stream(
    thread_id: ThreadId,
    run_id: RunId,
    services: ServicesDep,
    cancel_on_disconnect: bool = False,
    last_event_id: Annotated[str | None, Header()] = None,
) -> EventSourceResponse:
    """Follow a run's events from now on, or replay those after `Last-Event-ID`."""
    active = _active(services, thread_id, run_id)
    if active is None:
        if await services.runs.get(thread_id, run_id) is None:
            raise _run_not_found(run_id)
        return empty_event_stream()
    return event_stream_response(
        active,
        cancel_on_disconnect=cancel_on_disconnect,
        resumable=True,
        heartbeat_s=services.settings.heartbeat_s,
        start=_after(last_event_id) if last_event_id else len(active.log),
    )


def _active(services: ServicesDep, thread_id: str, run_id: str) -> ActiveRun | None:
    active = services.run_manager.get(run_id)
    return active if active is not None and active.thread_id == thread_id else None


def _after(last_event_id: str) -> int:
    try:
        return int(last_event_id) + 1
    except ValueError:
        raise InvalidRequest(
            f"Invalid Last-Event-ID {last_event_id!r}: use the id of the last event received."
        ) from None


def _thread_result(thread: ThreadRecord) -> Any:
    if thread.status == "error" and thread.error:
        return {"__error__": thread.error}
    interrupts = [item for items in thread.interrupts.values() for item in items]
    if thread.status == "interrupted" and interrupts:
        return {**(thread.values or {}), "__interrupt__": interrupts}
    return thread.values or {}


def _run_not_found(run_id: str) -> NotFound:
    return NotFound(f"Run with ID {run_id} not found")
