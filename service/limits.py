"""`BodySizeLimit`: request bodies over `max_body_bytes` are answered 413 and reach no route.

The body is counted as it arrives, so a chunked body (no Content-Length) or a Content-Length
that understates it is caught too; a Content-Length over the limit is refused before reading.
The whole body is read before the app sees the request, so a refused request has run nothing
and written nothing. (Routes read whole JSON bodies anyway: buffering here costs no memory.)
"""

from __future__ import annotations

import logging

from starlette import status
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from threadloom.service.json_codec import JsonResponse

logger = logging.getLogger(__name__)

# After refusing, up to this much of the rest of the body is read and dropped before the
# answer goes out: a client still sending when its connection closes may get a reset instead of
# the 413. Past it, the answer goes out at once and the connection closes.
DRAIN_LIMIT_BYTES = 16 * 1024 * 1024


class BodySizeLimit:
    """ASGI middleware refusing HTTP request bodies larger than `max_bytes` with a 413."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(scope, receive, send, received=0)
            return
        chunks: list[bytes] = []
        size, more = 0, True
        while more:
            message = await receive()
            if message["type"] != "http.request":  # the client left: nobody to answer
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await self._refuse(scope, receive, send, received=size)
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        await self.app(scope, _replay(b"".join(chunks), receive), send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, *, received: int) -> None:
        logger.info(
            "request refused: body over max_body_bytes=%d method=%s path=%s",
            self.max_bytes,
            scope["method"],
            scope["path"],
        )
        await _drain(receive, DRAIN_LIMIT_BYTES - received)
        answer = JsonResponse(
            {
                "detail": f"Request body too large: this server accepts at most "
                f"{self.max_bytes} bytes (THREADLOOM_MAX_BODY_BYTES). Send a smaller body, "
                "e.g. split the input over several runs, or raise the limit."
            },
            status_code=status.HTTP_413_CONTENT_TOO_LARGE,
            headers={"Connection": "close"},
        )
        await answer(scope, receive, send)


async def _drain(receive: Receive, budget: int) -> None:
    """Read and drop the rest of the body, or `budget` bytes of it."""
    more = True
    while more and budget > 0:
        message = await receive()
        if message["type"] != "http.request":
            return
        budget -= len(message.get("body", b""))
        more = message.get("more_body", False)


def _replay(body: bytes, receive: Receive) -> Receive:
    """A `receive` that gives the app the body already read, then what the client sends next
    (such as `http.disconnect`, which streaming responses listen for)."""
    delivered = False

    async def replay() -> Message:
        nonlocal delivered
        if delivered:
            return await receive()
        delivered = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay
