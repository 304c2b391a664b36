"""Responses that follow a run: the SSE stream of its events, and the JSON result of a wait.

Frames are written as LangGraph Server writes them: `event: NAME\r\ndata: JSON\r\n\r\n`
(plus `id: N\r\n` for resumable streams), with `: heartbeat` comments to keep proxies open.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any

from sse_starlette import EventSourceResponse, ServerSentEvent
from starlette.responses import Response, StreamingResponse
from starlette.types import Receive, Scope, Send

from threadloom.service.http.json_codec import dumps
from threadloom.service.runs.events import RunEvent

_SEP = b"\r\n"


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
    to `EventSourceResponse` (headers, a client-close handler). A run's own stream, the hot
    path of tokens, is the leaner `EventStream` (`event_stream_response`)."""
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


HEARTBEAT = b": heartbeat\r\n\r\n"


class EventStream(Response):
    """An SSE response over `chunks` (each one or more whole frames, written with one send):
    a `: heartbeat` comment when nothing was sent for `heartbeat_s`, and `on_disconnect` when
    the client leaves before the end.

    Pure ASGI, one task writing: a chunk costs one `send`, however many frames it holds (the
    per-event work of a general SSE library, its locks and timeouts per send, was a third of
    the server's CPU per streamed token).
    """

    def __init__(
        self,
        chunks: AsyncIterator[bytes],
        *,
        heartbeat_s: float,
        headers: Mapping[str, str] | None = None,
        on_disconnect: Callable[[], None] | None = None,
        status_code: int = 200,  # (read by FastAPI's OpenAPI document; a stream is always 200)
    ) -> None:
        self.chunks = chunks
        self.heartbeat_s = heartbeat_s
        self.on_disconnect = on_disconnect
        self.status_code = status_code
        # Set here, not on the class: FastAPI documents a route's error bodies with the media
        # type of its response class, and they are JSON.
        self.media_type = "text/event-stream"
        self.background = None
        self._sent = 0  # chunks sent: a beat goes out only after a quiet interval
        self.init_headers({**_STREAM_HEADERS, **(headers or {})})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send(
            {"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers}
        )
        writer = asyncio.create_task(self._write(send))
        tasks = {writer, asyncio.create_task(self._beat(send)), asyncio.create_task(_gone(receive))}
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        if writer in done:
            writer.result()  # a failure of the stream is the request's
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        elif self.on_disconnect is not None:
            self.on_disconnect()

    async def _write(self, send: Send) -> None:
        async for chunk in self.chunks:
            self._sent += 1
            await send({"type": "http.response.body", "body": chunk, "more_body": True})

    async def _beat(self, send: Send) -> None:
        # Each send writes its bytes whole before it may wait, so a beat never splits a frame.
        while True:
            seen = self._sent
            await asyncio.sleep(self.heartbeat_s)
            if self._sent == seen:
                await send({"type": "http.response.body", "body": HEARTBEAT, "more_body": True})


_STREAM_HEADERS = {
    "Cache-Control": "no-store",
    "Connection": "keep-alive",
    "X-Accel-Buffering": "no",
}


async def _gone(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


def event_stream_response(
    chunks: AsyncIterator[bytes],
    *,
    run_path: str,
    heartbeat_s: float,
    on_disconnect: Callable[[], None] | None = None,
    max_s: float | None = None,
) -> EventStream:
    """Stream a run's frames (`chunks`) until the run ends (or `max_s` passed); `on_disconnect`
    runs if the client leaves first.

    `run_path` is the run's URL: sent as `Content-Location` (where the SDK reads the run id)
    and, with `/stream`, as `Location` (where a dropped stream can be rejoined).
    """
    return EventStream(
        for_at_most(chunks, max_s),
        heartbeat_s=heartbeat_s,
        headers={"Location": f"{run_path}/stream", "Content-Location": run_path},
        on_disconnect=on_disconnect,
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
