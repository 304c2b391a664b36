"""`langgraph_sdk.get_client()` with no URL, from code the server runs, reaches this server in
process, as LangGraph Server gives its graphs a loopback client.

A graph (or an `http.app` route) that calls `get_client()` without a URL gets a client whose
requests never leave the process: `InProcessTransport` hands them to the app that runs the
calling code, found through a context variable that `ServesInProcess` sets for every request and
for the lifespan (so runs started by requests, by crons or by recovery at start all find it).
The request runs in a task of its own that copies the caller's context (less the calling
graph's config, so that a run it starts is not taken for a subgraph), so it acts as the run
that made it: the API key's owner and the auth policy's user stay those of the run, and the
policy's handlers judge what it does; the authentication step is skipped, as LangGraph Server
skips it for its loopback client (a network request cannot mark itself in-process: the marker is
a key of the ASGI scope, which only this transport sets).

`install_sdk_loopback` points the SDK at this transport. The SDK chooses its loopback transport
through `langgraph_sdk._async.client.get_asgi_transport` and otherwise imports
`langgraph_api.server` (LangGraph Server itself) to find the app: both are replaced here, once
per process, before the deployment's graphs are imported.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import os
from collections.abc import AsyncIterator
from contextvars import ContextVar
from typing import Any

import httpx
from langchain_core.runnables.config import var_child_runnable_config
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# A key of the ASGI scope: the request comes from this process's own SDK client.
IN_PROCESS_KEY = "threadloom.in_process"
# Tells the SDK not to import LangGraph Server's app for its loopback client.
DEFER_VARIABLE = "__LANGGRAPH_DEFER_LOOPBACK_TRANSPORT"
_END = object()

_serving: ContextVar[ASGIApp | None] = ContextVar("threadloom_in_process_app", default=None)


class NotServing(RuntimeError):
    """`get_client()` without a URL was used outside code the threadloom server runs."""


def in_process(scope: Scope) -> bool:
    """Whether the request came through `InProcessTransport` (see the module)."""
    return bool(scope.get(IN_PROCESS_KEY))


class ServesInProcess:
    """ASGI middleware: the code that runs during a request or the lifespan (graphs, custom
    routes) reaches `target`, the whole app, through `get_client()` with no URL."""

    def __init__(self, app: ASGIApp, target: ASGIApp) -> None:
        self.app = app
        self._target = target

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        token = _serving.set(self._target)
        try:
            await self.app(scope, receive, send)
        finally:
            _serving.reset(token)


class InProcessTransport(httpx.AsyncBaseTransport):
    """An httpx transport that serves each request with the app running the calling code,
    streaming the response as the app sends it (a run's SSE stream arrives event by event)."""

    def __init__(self, app: Any = None, root_path: str = "", **_: Any) -> None:
        # The SDK passes `app=None` and `root_path="/noauth"`; the app is found per request.
        del app, root_path

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        app = _serving.get()
        if app is None:
            raise NotServing(
                "langgraph_sdk.get_client() without a url reaches the threadloom server only "
                "from code it runs (a graph, a custom route); elsewhere pass "
                "url='http://host:port'."
            )
        body = b"".join([chunk async for chunk in request.stream])  # type: ignore[union-attr]
        exchange = _Exchange(body)
        task = asyncio.create_task(
            app(_scope(request), exchange.receive, exchange.send), context=_request_context()
        )
        task.add_done_callback(exchange.app_done)
        try:
            status, headers = await exchange.started
        except asyncio.CancelledError:  # the caller gave up (its run was cancelled)
            task.cancel()
            raise
        return httpx.Response(status, headers=headers, stream=_Body(exchange, task))


class _Exchange:
    """One request's ASGI channel: its body in, the response's start and body out."""

    def __init__(self, body: bytes) -> None:
        self._body: bytes | None = body
        self.started: asyncio.Future[tuple[int, list[tuple[bytes, bytes]]]] = (
            asyncio.get_running_loop().create_future()
        )
        self.chunks: asyncio.Queue[Any] = asyncio.Queue()
        self.disconnected = asyncio.Event()

    async def receive(self) -> Message:
        if self._body is not None:
            body, self._body = self._body, None
            return {"type": "http.request", "body": body, "more_body": False}
        await self.disconnected.wait()
        return {"type": "http.disconnect"}

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.started.set_result((message["status"], list(message.get("headers", []))))
        elif message["type"] == "http.response.body":
            if message.get("body"):
                self.chunks.put_nowait(message["body"])
            if not message.get("more_body", False):
                self.chunks.put_nowait(_END)

    def app_done(self, task: asyncio.Task[None]) -> None:
        error = None if task.cancelled() else task.exception()
        if not self.started.done():
            if error is not None:
                self.started.set_exception(error)
            else:
                self.started.set_exception(RuntimeError("The app sent no response."))
        self.chunks.put_nowait(error if error is not None else _END)


class _Body(httpx.AsyncByteStream):
    def __init__(self, exchange: _Exchange, task: asyncio.Task[None]) -> None:
        self._exchange = exchange
        self._task = task

    async def __aiter__(self) -> AsyncIterator[bytes]:
        while (chunk := await self._exchange.chunks.get()) is not _END:
            if isinstance(chunk, BaseException):
                raise chunk
            yield chunk

    async def aclose(self) -> None:
        # A client that stops reading a stream disconnects, as over the network.
        self._exchange.disconnected.set()
        if not self._task.done():
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task


def _request_context() -> contextvars.Context:
    """The caller's context (its owner, the policy's user), without the calling graph's
    config: a run the request starts is a run of its own, not a subgraph of the caller."""
    context = contextvars.copy_context()
    context.run(var_child_runnable_config.set, None)
    return context


def _scope(request: httpx.Request) -> Scope:
    url = request.url
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": request.method,
        "scheme": url.scheme,
        "path": url.path,
        "raw_path": url.raw_path.split(b"?")[0],
        "query_string": url.query,
        "root_path": "",
        "headers": [(name.lower(), value) for name, value in request.headers.raw],
        "client": ("127.0.0.1", 0),
        "server": ("in-process", 80),
        IN_PROCESS_KEY: True,
    }


def install_sdk_loopback() -> None:
    """Make `langgraph_sdk.get_client()` with no URL use `InProcessTransport` (see the module).
    Idempotent; a no-op for an SDK without a loopback client."""
    os.environ[DEFER_VARIABLE] = "true"
    try:
        from langgraph_sdk._async import client as sdk_client
    except ImportError:  # an SDK of another layout: get_client() needs a url there
        return
    if hasattr(sdk_client, "get_asgi_transport"):
        sdk_client.get_asgi_transport = _transport_class


def _transport_class() -> type[InProcessTransport]:
    return InProcessTransport
