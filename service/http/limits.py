"""`BodySizeLimit`: request bodies over `max_body_bytes` are answered 413 and reach no route;
`OpenRequestsPerKey`: one API key may hold only so many requests (streams, waits) open at once.

The body is counted as it arrives, so a chunked body (no Content-Length) or a Content-Length
that understates it is caught too; a Content-Length over the limit is refused before reading.
The whole body must arrive within `read_timeout_s` (a client announcing more than it sends is
answered 408). The whole body is read before the app sees the request, so a refused request has
run nothing and written nothing. (Routes read whole JSON bodies anyway: buffering here costs no
memory.) A JSON body is then checked by `json_guard` (nesting depth, lone surrogates, numbers out
of range): 422 before any route parses it. A body over `THREAD_CHECK_BYTES` is checked in a thread,
so that a large prompt does not pause the event loop (and every other request) while it is
walked.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections import Counter

from starlette import status
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from threadloom.service.auth.api_keys import presented_key
from threadloom.service.http.json_guard import json_body_problem
from threadloom.service.http.refusal import refusal

logger = logging.getLogger(__name__)

# After refusing, up to this much of the rest of the body is read and dropped before the
# answer goes out: a client still sending when its connection closes may get a reset instead of
# the 413. Past it, the answer goes out at once and the connection closes.
DRAIN_LIMIT_BYTES = 16 * 1024 * 1024
# ... and the draining stops when the client sends nothing for this long (it lied about the
# length, or stopped), so such a client is answered at once rather than when it gives up.
DRAIN_IDLE_S = 0.2
# Bodies larger than this are checked off the event loop: below it, the check takes less time
# than handing it to a thread.
THREAD_CHECK_BYTES = 64 * 1024


class BodySizeLimit:
    """ASGI middleware refusing HTTP request bodies larger than `max_bytes` with a 413."""

    def __init__(
        self, app: ASGIApp, max_bytes: int, read_timeout_s: float = 30.0, max_json_depth: int = 64
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.read_timeout_s = read_timeout_s
        self.max_json_depth = max_json_depth

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
        deadline = asyncio.get_running_loop().time() + self.read_timeout_s
        while more:
            try:
                async with asyncio.timeout_at(deadline):
                    message = await receive()
            except TimeoutError:
                await _answer(
                    scope,
                    receive,
                    send,
                    status.HTTP_408_REQUEST_TIMEOUT,
                    (
                        f"The request body did not arrive within {self.read_timeout_s:g} s "
                        "(THREADLOOM_BODY_READ_TIMEOUT_S): send the whole body at once, and no "
                        "Content-Length larger than the body."
                    ),
                )
                return
            if message["type"] != "http.request":  # the client left: nobody to answer
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await self._refuse(scope, receive, send, received=size)
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        if len(body) > THREAD_CHECK_BYTES:
            problem = await asyncio.to_thread(_json_problem, scope, body, self.max_json_depth)
        else:
            problem = _json_problem(scope, body, self.max_json_depth)
        if problem:
            await _answer(
                scope, receive, send, status.HTTP_422_UNPROCESSABLE_CONTENT, problem, close=False
            )
            return
        await self.app(scope, _replay(body, receive), send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, *, received: int) -> None:
        await _drain(receive, DRAIN_LIMIT_BYTES - received)
        await _answer(
            scope,
            receive,
            send,
            status.HTTP_413_CONTENT_TOO_LARGE,
            (
                f"Request body too large: this server accepts at most {self.max_bytes} bytes "
                "(THREADLOOM_MAX_BODY_BYTES). Send a smaller body, e.g. split the input over "
                "several runs, or raise the limit."
            ),
        )


class OpenRequestsPerKey:
    """ASGI middleware (auth on): a key with `max_open` requests still open (streams, waits)
    gets 429 for the next one until one ends. Keys are counted by digest, never kept."""

    def __init__(self, app: ASGIApp, max_open: int) -> None:
        self.app = app
        self.max_open = max_open
        self._open: Counter[bytes] = Counter()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        key = presented_key(Headers(scope=scope)) if scope["type"] == "http" else None
        if key is None:  # auth refuses it, or the path is open (/ok)
            await self.app(scope, receive, send)
            return
        digest = hashlib.sha256(key.encode()).digest()
        if self._open[digest] >= self.max_open:
            await _answer(
                scope,
                receive,
                send,
                status.HTTP_429_TOO_MANY_REQUESTS,
                (
                    f"This API key already has {self.max_open} requests open "
                    "(THREADLOOM_MAX_OPEN_REQUESTS_PER_KEY): close a stream or wait for one."
                ),
            )
            return
        self._open[digest] += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self._open[digest] -= 1
            if not self._open[digest]:
                del self._open[digest]


def _json_problem(scope: Scope, body: bytes, max_depth: int) -> str | None:
    # FastAPI parses a body as JSON when it says so, or says nothing of its type.
    content_type = Headers(scope=scope).get("content-type", "")
    if not body or (content_type and "json" not in content_type):
        return None
    return json_body_problem(body, max_depth)


async def _answer(
    scope: Scope, receive: Receive, send: Send, status_code: int, detail: str, close: bool = True
) -> None:
    """Refuse in the front's error shape; `close` the connection when the body may be unread."""
    logger.info(
        "request refused: %d method=%s path=%s", status_code, scope["method"], scope["path"]
    )
    answer = refusal(scope, status_code, detail, headers={"Connection": "close"} if close else None)
    await answer(scope, receive, send)


async def _drain(receive: Receive, budget: int) -> None:
    """Read and drop the rest of the body, or `budget` bytes of it, while it keeps coming."""
    more = True
    while more and budget > 0:
        try:
            async with asyncio.timeout(DRAIN_IDLE_S):
                message = await receive()
        except TimeoutError:
            return
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
