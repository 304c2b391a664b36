"""Stateless runs: each on a thread of its own, deleted when the run ends unless the request
says `on_completion: "keep"`; and cancelling runs of any thread at once."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Request, Response, status
from pydantic import Field
from sse_starlette import EventSourceResponse
from starlette.responses import StreamingResponse

from threadloom.service.auth.policy import authorize
from threadloom.service.http.deps import RunRequest, ServicesDep, with_request_headers
from threadloom.service.http.json_codec import JsonResponse
from threadloom.service.http.run_responses import result_response, stream_response
from threadloom.service.schemas.bounds import MAX_BATCH_RUNS
from threadloom.service.schemas.responses import RUN_ERRORS, SSE, Run, RunResult, answers
from threadloom.service.schemas.runs import RunCreate, RunsCancel

router = APIRouter(prefix="/runs", tags=["stateless runs"])


@router.post("/stream", response_class=EventSourceResponse, responses=answers(SSE, *RUN_ERRORS))
async def stream_stateless_run(body: RunRequest, services: ServicesDep) -> EventSourceResponse:
    run = await services.run_manager.submit(None, body)
    return stream_response(
        run,
        heartbeat_s=services.settings.heartbeat_s,
        resumable=body.stream_resumable,
        cancel_on_disconnect=body.on_disconnect == "cancel",
        # LangGraph Server names a stateless run by its id alone here.
        path=f"/runs/{run.run_id}",
    )


@router.post("/wait", responses=answers(RunResult, *RUN_ERRORS))
async def wait_stateless_run(body: RunRequest, services: ServicesDep) -> StreamingResponse:
    run = await services.run_manager.submit(None, body)
    return result_response(
        run,
        heartbeat_s=services.settings.heartbeat_s,
        cancel_on_disconnect=body.on_disconnect == "cancel",
    )


@router.post("", responses=answers(Run, *RUN_ERRORS))
async def create_stateless_run(body: RunRequest, services: ServicesDep) -> JsonResponse:
    """Start a stateless run in the background; answers with the run (pending) at once."""
    run = await services.run_manager.submit(None, body)
    return JsonResponse(run.record.to_api(), headers={"Content-Location": f"/runs/{run.run_id}"})


@router.post("/batch", responses=answers(list[Run], *RUN_ERRORS))
async def create_stateless_runs(
    body: Annotated[list[RunCreate], Field(min_length=1, max_length=MAX_BATCH_RUNS)],
    request: Request,
    services: ServicesDep,
) -> JsonResponse:
    """Start several stateless runs in the background; answers with them (pending)."""
    requests = [with_request_headers(item, request, services) for item in body]
    runs = await services.run_manager.submit_stateless_batch(requests)
    return JsonResponse([run.record.to_api() for run in runs])


@router.post(
    "/cancel",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=answers(None, 404, 409, status_code=204),
)
async def cancel_runs(
    body: RunsCancel,
    services: ServicesDep,
    action: Literal["interrupt", "rollback"] = "interrupt",
) -> Response:
    """Cancel runs `run_ids` of thread `thread_id`, or every run with `status`."""
    await authorize("threads", "update", body.model_dump())
    await services.run_manager.cancel_many(body, action=action)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
