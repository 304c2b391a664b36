"""A real uvicorn server running the app in this test's event loop, and an SSE frame reader."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI
from langchain_core.language_models import BaseChatModel
from langgraph.graph import StateGraph

from threadloom.service.app import create_app
from threadloom.service.assistants import GRAPH_ID
from threadloom.service.deployment.builtin_agent import compile_agent, make_agent_graph
from threadloom.service.deployment.graph_registry import GraphValue
from threadloom.service.http.server import uvicorn_config
from threadloom.service.settings import Settings

GraphFactory = Callable[[Settings], StateGraph]
"""Builds the agent's graph from the settings (a test's own agent, or any other graph)."""


class _ReadyServer(uvicorn.Server):
    """A uvicorn server that signals, without polling, once it accepts connections."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.ready = asyncio.Event()

    async def startup(self, sockets: Any = None) -> None:
        await super().startup(sockets)
        self.ready.set()


@dataclass
class LiveServer:
    url: str
    app: FastAPI
    server: _ReadyServer
    task: asyncio.Task[None]

    async def stop(self) -> None:
        self.server.should_exit = True
        await self.task


StartServer = Callable[..., Awaitable[LiveServer]]
"""The `start` fixture: `await start(**overrides)` starts another server (see `start_server`)."""


async def start_server(
    db: Path,
    model: BaseChatModel | None = None,
    graph_factory: GraphFactory | None = None,
    graphs: Mapping[str, GraphValue] | None = None,
    **settings: Any,
) -> LiveServer:
    """Start the app on 127.0.0.1 and an ephemeral port; returns once it serves.

    It serves `graphs` if given, else the graphs of the deployment file `config` if that
    setting is given, else one graph, "agent": the agent with `model`, or what `graph_factory`
    builds, compiled as the agent is.
    """
    served = Settings(db=db, tools=["calculator", "search"], **settings)
    if graphs is None and served.config is None:
        build = graph_factory or partial(make_agent_graph, model=model)
        # Off the event loop, as `threadloom serve` builds it before serving: building may
        # wait on servers that run in this loop (an MCP server a test serves).
        graphs = {GRAPH_ID: compile_agent(await asyncio.to_thread(build, served), served)}
    app = create_app(served, graphs)
    url, server, task = await serve_on_loopback(app, served)
    return LiveServer(url, app, server, task)


async def serve_on_loopback(
    app: Any, settings: Settings | None = None
) -> tuple[str, uvicorn.Server, asyncio.Task[None]]:
    """Serve an ASGI app with uvicorn on 127.0.0.1 and an ephemeral port, in this event loop,
    configured as `threadloom serve` configures it under `settings`; returns its base URL once
    it serves (stop it with `should_exit` and await the task)."""
    config = uvicorn_config(
        app,
        settings or Settings(),
        host="127.0.0.1",
        port=0,
        log_level="warning",
        timeout_graceful_shutdown=5,
    )
    server = _ReadyServer(config)
    task = asyncio.create_task(server.serve())
    ready = asyncio.create_task(server.ready.wait())
    await asyncio.wait({task, ready}, return_when=asyncio.FIRST_COMPLETED)
    if not server.ready.is_set():
        ready.cancel()
        await task  # raises the start-up failure
        raise RuntimeError("the server stopped during start-up")
    port = server.servers[0].sockets[0].getsockname()[1]
    return f"http://127.0.0.1:{port}", server, task


@dataclass(frozen=True)
class Frame:
    event: str
    data: Any
    raw: bytes
    id: str | None = None


async def stream_frames(response: httpx.Response) -> AsyncIterator[Frame]:
    """The event frames of an SSE response as they arrive (heartbeat comments skipped)."""
    fields: dict[str, str] = {}
    async for line in response.aiter_lines():
        if line:
            name, _, value = line.partition(": ")
            fields[name] = value
            continue
        if "event" in fields:  # not a heartbeat comment
            yield Frame(fields["event"], json.loads(fields["data"]), b"", fields.get("id"))
        fields = {}


def parse_frames(body: bytes) -> list[Frame]:
    """Split a whole SSE body into its event frames (comments such as heartbeats are skipped),
    checking the framing byte for byte: `event: NAME\\r\\ndata: JSON\\r\\n[id: N\\r\\n]\\r\\n`."""
    assert body.endswith(b"\r\n\r\n"), body[-40:]
    frames = []
    for block in body[: -len(b"\r\n\r\n")].split(b"\r\n\r\n"):
        if block.startswith(b":"):
            continue
        name_line, data_line, *id_line = block.split(b"\r\n")
        assert name_line.startswith(b"event: ") and data_line.startswith(b"data: "), block
        assert not id_line or (len(id_line) == 1 and id_line[0].startswith(b"id: ")), block
        frames.append(
            Frame(
                event=name_line[len(b"event: ") :].decode(),
                data=json.loads(data_line[len(b"data: ") :]),
                raw=block,
                id=id_line[0][len(b"id: ") :].decode() if id_line else None,
            )
        )
    return frames
