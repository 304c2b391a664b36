"""The thread-centric protocol of `client.threads.stream()` (LangGraph SDKs): commands, and the
thread's events from its first run on (see `service.threads.commands`,
`service.threads.protocol_events`)."""

from __future__ import annotations

from functools import partial

from fastapi import APIRouter
from sse_starlette import EventSourceResponse

from threadloom.service.http.deps import ExistingThread, ServicesDep, ThreadId
from threadloom.service.http.json_codec import JsonResponse
from threadloom.service.http.run_responses import REPLAY_ALL
from threadloom.service.schemas.responses import SSE, answers
from threadloom.service.schemas.thread_commands import (
    CommandSuccess,
    EventStreamRequest,
    ThreadCommand,
)
from threadloom.service.threads.commands import run_command
from threadloom.service.threads.follow import ThreadStream
from threadloom.service.threads.protocol_events import (
    EventFilter,
    ProtocolEvents,
    protocol_event_response,
)

router = APIRouter(prefix="/threads/{thread_id}", tags=["thread streams"])


@router.post("/commands", responses=answers(CommandSuccess, 404, 409))
async def thread_command(
    thread_id: ThreadId, body: ThreadCommand, services: ServicesDep
) -> JsonResponse:
    """Carry out one command: `run.start`, `input.respond` or `run.cancel`."""
    result = await run_command(services, thread_id, body)
    return JsonResponse(CommandSuccess(id=body.id, result=result).model_dump())


@router.post(
    "/stream/events",
    response_class=EventSourceResponse,
    responses=answers(SSE, 404),
)
async def thread_events(
    thread: ExistingThread, body: EventStreamRequest, services: ServicesDep
) -> EventSourceResponse:
    """The thread's events in the `channels` asked for (and under `namespaces`, to `depth`),
    from its first run, or after `since` (the last `seq` seen), until the client leaves."""
    stream = ThreadStream(
        thread.thread_id,
        runs=services.runs,
        find_run=services.run_manager.find,
        modes=frozenset({"run_modes"}),
        watches=services.thread_watches,
    )
    await stream.open(REPLAY_ALL)
    return protocol_event_response(
        stream,
        ProtocolEvents(partial(services.runs.get, thread.thread_id)),
        EventFilter(body),
        heartbeat_s=services.settings.heartbeat_s,
    )
