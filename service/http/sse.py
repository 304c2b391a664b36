"""Responses that follow a run: the SSE stream of its events, and the JSON result of a wait.

Frames are written as LangGraph Server writes them: `event: NAME\r\ndata: JSON\r\n\r\n`
(plus `id: N\r\n` for resumable streams), with `: heartbeat` comments to keep proxies open.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from sse_starlette import EventSourceResponse, ServerSentEvent
from starlette.responses import StreamingResponse
from starlette.types import Message

from threadloom.service.http.json_codec import dumps
from threadloom.service.runs.events import RunEvent

_SEP = b"\r\n"

Events = AsyncIterator[tuple[int, RunEvent]]


def frame(event: RunEvent, event_id: int | None = None) -> bytes:
    """One SSE frame: event name, compact JSON data, optional id."""
    parts = [b"event: ", event.name.encode(), _SEP, b"data: ", event.data, _SEP]
    if event_id is not None:
        parts += [b"id: ", str(event_id).encode(), _SEP]
    parts.append(_SEP)
    return b"".join(parts)


def sse_response(
    frames: AsyncIterator[bytes], *, heartbeat_s: float, **options: Any
) -> EventSourceResponse:
    """Every SSE response of the service is built here: `frames` as they come, and a
    `: heartbeat` comment every `heartbeat_s` so proxies keep the stream open. `options` go
    to `EventSourceResponse` (headers, a client-close handler)."""
    return EventSourceResponse(
        frames,
        ping=heartbeat_s,
        ping_message_factory=lambda: ServerSentEvent(comment="heartbeat"),
        **options,
    )


async def for_at_most(frames: AsyncIterator[bytes], max_s: float | None) -> AsyncIterator[bytes]:
    """`frames` until they end or, with `max_s`, until `max_s` seconds have passed (the stream
    then ends as if its source had: the `join_stream_max_s` setting)."""
    if max_s is None:
        async for item in frames:
            yield item
        return
    deadline = asyncio.get_running_loop().time() + max_s
    try:
        while True:
            async with asyncio.timeout_at(deadline):
                item = await anext(frames)
            yield item
    except (StopAsyncIteration, TimeoutError):
        return


def event_stream_response(
    events: Events,
    *,
    run_path: str,
    resumable: bool,
    heartbeat_s: float,
    on_disconnect: Callable[[], None] | None = None,
    max_s: float | None = None,
) -> EventSourceResponse:
    """Stream `events` until the run ends (or `max_s` passed); `on_disconnect` runs if the
    client leaves first.

    `run_path` is the run's URL: sent as `Content-Location` (where the SDK reads the run id)
    and, with `/stream`, as `Location` (where a dropped stream can be rejoined).
    """

    async def frames() -> AsyncIterator[bytes]:
        async for index, event in events:
            yield frame(event, index if resumable else None)

    async def on_client_gone(message: Message) -> None:
        if on_disconnect is not None:
            on_disconnect()

    return sse_response(
        for_at_most(frames(), max_s),
        heartbeat_s=heartbeat_s,
        headers={"Location": f"{run_path}/stream", "Content-Location": run_path},
        client_close_handler_callable=on_client_gone,
    )


def run_result_response(
    result: Awaitable[Any],
    *,
    run_path: str,
    heartbeat_s: float,
    on_disconnect: Callable[[], None] | None = None,
) -> StreamingResponse:
    """Answer with `result` once it is ready, sending a newline every `heartbeat_s` meanwhile
    (JSON parsers skip leading whitespace) so that proxies keep the request open."""

    async def body() -> AsyncIterator[bytes]:
        waiter = asyncio.ensure_future(result)
        try:
            while not waiter.done():
                done, _ = await asyncio.wait({waiter}, timeout=heartbeat_s)
                if not done:
                    yield b"\n"
            yield dumps(waiter.result())
        finally:
            if not waiter.done():  # the client went away first
                waiter.cancel()
                if on_disconnect is not None:
                    on_disconnect()

    return StreamingResponse(
        body(),
        media_type="application/json",
        headers={"Location": f"{run_path}/join", "Content-Location": run_path},
    )
