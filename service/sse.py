"""Responses that follow a run: the SSE stream of its events, and the JSON result of a wait.

Frames are written as LangGraph Server writes them: `event: NAME\r\ndata: JSON\r\n\r\n`
(plus `id: N\r\n` for resumable streams), with `: heartbeat` comments to keep proxies open.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from sse_starlette import EventSourceResponse, ServerSentEvent
from starlette.responses import StreamingResponse
from starlette.types import Message

from service.json_codec import dumps
from service.runs.events import RunEvent
from service.runs.manager import ActiveRun

_SEP = b"\r\n"


def frame(event: RunEvent, event_id: int | None = None) -> bytes:
    """One SSE frame: event name, compact JSON data, optional id."""
    parts = [b"event: ", event.name.encode(), _SEP, b"data: ", event.data, _SEP]
    if event_id is not None:
        parts += [b"id: ", str(event_id).encode(), _SEP]
    parts.append(_SEP)
    return b"".join(parts)


def run_path(run: ActiveRun) -> str:
    """The run's URL path; sent as `Content-Location`, where the SDK reads the run id from."""
    return f"/threads/{run.thread_id}/runs/{run.run_id}"


def event_stream_response(
    run: ActiveRun,
    *,
    cancel_on_disconnect: bool,
    resumable: bool,
    heartbeat_s: float,
    start: int = 0,
) -> EventSourceResponse:
    """Stream the run's events from `start` until it ends; a dropped client cancels the run only
    if it asked to."""

    async def frames() -> AsyncIterator[bytes]:
        async for index, event in run.log.follow(start):
            yield frame(event, index if resumable else None)

    async def on_client_gone(message: Message) -> None:
        if cancel_on_disconnect:
            run.cancel()

    return EventSourceResponse(
        frames(),
        # `Location` is where the stream can be rejoined.
        headers={"Location": f"{run_path(run)}/stream", "Content-Location": run_path(run)},
        ping=heartbeat_s,
        ping_message_factory=lambda: ServerSentEvent(comment="heartbeat"),
        client_close_handler_callable=on_client_gone,
    )


def run_result_response(
    run: ActiveRun, *, cancel_on_disconnect: bool, heartbeat_s: float
) -> StreamingResponse:
    """Answer with the run's final values once it ends, sending a newline every `heartbeat_s`
    meanwhile (JSON parsers skip leading whitespace) so that proxies keep the request open."""

    async def body() -> AsyncIterator[bytes]:
        waiter = asyncio.ensure_future(run.outcome())
        try:
            while not waiter.done():
                done, _ = await asyncio.wait({waiter}, timeout=heartbeat_s)
                if not done:
                    yield b"\n"
            yield dumps(waiter.result().result)
        finally:
            if not waiter.done():  # the client went away before the run ended
                waiter.cancel()
                if cancel_on_disconnect:
                    run.cancel()

    return StreamingResponse(
        body(),
        media_type="application/json",
        headers={"Location": f"{run_path(run)}/join", "Content-Location": run_path(run)},
    )


def empty_event_stream() -> EventSourceResponse:
    """The stream of a run that has already ended: it closes at once."""

    async def nothing() -> AsyncIterator[bytes]:
        return
        yield b""

    return EventSourceResponse(nothing())
