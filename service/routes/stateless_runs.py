"""Stateless runs: each on a thread of its own, deleted when the run ends unless the request
says `on_completion: "keep"`."""

from __future__ import annotations

from fastapi import APIRouter
from sse_starlette import EventSourceResponse
from starlette.responses import StreamingResponse

from service.deps import ServicesDep
from service.json_codec import JsonResponse
from service.run_responses import result_response, stream_response
from service.schemas.runs import RunCreate

router = APIRouter(prefix="/runs", tags=["stateless runs"])


@router.post("/stream")
async def stream_stateless_run(body: RunCreate, services: ServicesDep) -> EventSourceResponse:
    run = await services.run_manager.submit(None, body)
    return stream_response(
        run,
        heartbeat_s=services.settings.heartbeat_s,
        resumable=body.stream_resumable,
        cancel_on_disconnect=body.on_disconnect == "cancel",
        # LangGraph Server names a stateless run by its id alone here.
        path=f"/runs/{run.run_id}",
    )


@router.post("/wait")
async def wait_stateless_run(body: RunCreate, services: ServicesDep) -> StreamingResponse:
    run = await services.run_manager.submit(None, body)
    return result_response(
        run,
        heartbeat_s=services.settings.heartbeat_s,
        cancel_on_disconnect=body.on_disconnect == "cancel",
    )


@router.post("")
async def create_stateless_run(body: RunCreate, services: ServicesDep) -> JsonResponse:
    """Start a stateless run in the background; answers with the run (pending) at once."""
    run = await services.run_manager.submit(None, body)
    return JsonResponse(run.record.to_api(), headers={"Content-Location": f"/runs/{run.run_id}"})
