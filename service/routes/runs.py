"""Runs on a thread: start one (streamed, waited for, or in the background), list, get, delete,
join its result or its stream, cancel it."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Header, Query, Response, status
from sse_starlette import EventSourceResponse
from starlette.responses import StreamingResponse

from threadloom.service.auth.policy import authorize
from threadloom.service.errors import NotFound
from threadloom.service.http.deps import ExistingThread, RunId, RunRequest, ServicesDep, ThreadId
from threadloom.service.http.json_codec import JsonResponse
from threadloom.service.http.run_responses import (
    Run,
    after_event,
    result_response,
    stream_response,
    thread_run_path,
)
from threadloom.service.runs.stream_modes import parse_stream_modes
from threadloom.service.schemas.bounds import Limit, Offset
from threadloom.service.schemas.responses import RUN_ERRORS, SSE, RunResult, Stopped, answers
from threadloom.service.schemas.responses import Run as RunAnswer
from threadloom.service.storage.records import RunStatus

router = APIRouter(prefix="/threads/{thread_id}/runs", tags=["runs"])


@router.post("/stream", response_class=EventSourceResponse, responses=answers(SSE, *RUN_ERRORS))
async def stream_run(
    thread_id: ThreadId, body: RunRequest, services: ServicesDep
) -> EventSourceResponse:
    """Start a run and stream its events (SSE) until it ends."""
    run = await services.run_manager.submit(thread_id, body)
    return stream_response(
        run,
        heartbeat_s=services.settings.heartbeat_s,
        resumable=body.stream_resumable,
        cancel_on_disconnect=body.on_disconnect == "cancel",
    )


@router.post("/wait", responses=answers(RunResult, *RUN_ERRORS))
async def wait_run(
    thread_id: ThreadId, body: RunRequest, services: ServicesDep
) -> StreamingResponse:
    """Start a run and answer with its final values (or `__error__` / `__interrupt__`)."""
    run = await services.run_manager.submit(thread_id, body)
    return result_response(
        run,
        heartbeat_s=services.settings.heartbeat_s,
        cancel_on_disconnect=body.on_disconnect == "cancel",
    )


@router.post("", responses=answers(RunAnswer, *RUN_ERRORS))
async def create_run(thread_id: ThreadId, body: RunRequest, services: ServicesDep) -> JsonResponse:
    """Start a run in the background; answers with the run (pending) at once."""
    run = await services.run_manager.submit(thread_id, body)
    return JsonResponse(run.record.to_api(), headers={"Content-Location": thread_run_path(run)})


@router.get("", responses=answers(list[RunAnswer], 404))
async def list_runs(
    thread: ExistingThread,
    services: ServicesDep,
    limit: Annotated[Limit, Query()] = 10,
    offset: Annotated[Offset, Query()] = 0,
    status: RunStatus | None = None,
) -> JsonResponse:
    runs = await services.runs.list(thread.thread_id, limit=limit, offset=offset, status=status)
    return JsonResponse([run.to_api() for run in runs])


@router.get("/{run_id}", responses=answers(RunAnswer, 404))
async def get_run(thread_id: ThreadId, run_id: RunId, services: ServicesDep) -> JsonResponse:
    await authorize("threads", "read", {"thread_id": thread_id, "run_id": run_id})
    run = await services.runs.get(thread_id, run_id)
    if run is None:
        raise _run_not_found(run_id)
    return JsonResponse(run.to_api())


@router.delete(
    "/{run_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=answers(None, 404, 409, status_code=204),
)
async def delete_run(thread_id: ThreadId, run_id: RunId, services: ServicesDep) -> Response:
    """Delete the run and the checkpoints it wrote (a run still going is rolled back)."""
    await authorize("threads", "delete", {"thread_id": thread_id, "run_id": run_id})
    await services.run_manager.delete_run(thread_id, run_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/{run_id}/join", responses=answers(RunResult, 404))
async def join_run(
    thread_id: ThreadId, run_id: RunId, services: ServicesDep, cancel_on_disconnect: bool = False
) -> StreamingResponse:
    """Wait for the run (on any replica) to end and answer like `/wait`; for an ended run, the
    thread's result."""
    return result_response(
        await _find(services, thread_id, run_id),
        heartbeat_s=services.settings.heartbeat_s,
        cancel_on_disconnect=cancel_on_disconnect,
    )


@router.get("/{run_id}/stream", response_class=EventSourceResponse, responses=answers(SSE, 404))
async def join_stream(
    thread_id: ThreadId,
    run_id: RunId,
    services: ServicesDep,
    cancel_on_disconnect: bool = False,
    stream_mode: str | None = None,
    last_event_id: Annotated[str | None, Header()] = None,
) -> EventSourceResponse:
    """Follow a run's events (on any replica) from now on, or replay those after
    `Last-Event-ID`; `stream_mode` (one mode or a JSON list) keeps only those modes."""
    return stream_response(
        await _find(services, thread_id, run_id),
        heartbeat_s=services.settings.heartbeat_s,
        resumable=True,
        cancel_on_disconnect=cancel_on_disconnect,
        start=after_event(last_event_id) if last_event_id else None,
        modes=parse_stream_modes(stream_mode),
        max_s=services.settings.join_stream_max_s,
    )


@router.post(
    "/{run_id}/cancel",
    responses={
        **answers(Stopped, 404, 409),
        202: {"description": "Cancelling (without `wait`); no body."},
    },
)
async def cancel_run(
    thread_id: ThreadId,
    run_id: RunId,
    services: ServicesDep,
    wait: bool = False,
    action: Literal["interrupt", "rollback"] = "interrupt",
) -> Response:
    """Stop the run; `rollback` also deletes it and what it wrote. Without `wait` the answer
    (202) comes at once, with it (200) once the run has stopped."""
    await authorize("threads", "update", {"thread_id": thread_id, "run_id": run_id})
    await services.run_manager.cancel(thread_id, run_id, action=action, wait=wait)
    if not wait:
        return Response(status_code=status.HTTP_202_ACCEPTED)
    return JsonResponse({}, headers={"Content-Location": f"/threads/{thread_id}/runs/{run_id}"})


async def _find(services: ServicesDep, thread_id: str, run_id: str) -> Run:
    scoped = await authorize("threads", "read", {"thread_id": thread_id, "run_id": run_id})
    # A run going here is found without a query, so the policy's filter is checked on its own.
    if scoped is not None and await services.threads.get(thread_id) is None:
        raise _run_not_found(run_id)
    run = await services.run_manager.find(thread_id, run_id)
    if run is None:
        raise _run_not_found(run_id)
    return run


def _run_not_found(run_id: str) -> NotFound:
    return NotFound(f"Run with ID {run_id} not found")
