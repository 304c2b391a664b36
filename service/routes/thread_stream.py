"""Following a thread: every event of its runs, run after run (see `service.threads.follow`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Query
from sse_starlette import EventSourceResponse

from threadloom.service.http.deps import ExistingThread, ServicesDep
from threadloom.service.schemas.responses import SSE, answers
from threadloom.service.threads.follow import (
    ThreadStream,
    parse_thread_stream_modes,
    thread_stream_response,
)

router = APIRouter(prefix="/threads", tags=["threads"])


@router.get("/{thread_id}/stream", response_class=EventSourceResponse, responses=answers(SSE, 404))
async def join_thread_stream(
    thread: ExistingThread,
    services: ServicesDep,
    stream_mode: Annotated[list[str], Query()] = [],  # noqa: B006 (FastAPI copies defaults)
    stream_modes: Annotated[list[str], Query()] = [],  # noqa: B006
    last_event_id: Annotated[str | None, Header()] = None,
) -> EventSourceResponse:
    """The thread's runs' events from now on (or after `Last-Event-ID`; `-` for all), each run
    ending with a `metadata` event `{"status": "run_done", "run_id": ...}`, until the client
    leaves. `stream_mode`: `run_modes` (default), `lifecycle`, `state_update`."""
    stream = ThreadStream(
        thread.thread_id,
        runs=services.runs,
        find_run=services.run_manager.find,
        modes=parse_thread_stream_modes([*stream_mode, *stream_modes]),
        watches=services.thread_watches,
    )
    await stream.open(last_event_id)
    return thread_stream_response(
        stream,
        heartbeat_s=services.settings.heartbeat_s,
        max_s=services.settings.join_stream_max_s,
    )
