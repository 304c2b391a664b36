"""The real service app on a free loopback port inside this process, and a streamed run over it.

The app is `service.app.create_app` served by uvicorn, with the agent graph over a model the
benchmark already loaded (so that the service and the plain-`generate` baseline share weights).
Runs go through `POST /runs/stream` with `stream_mode: ["messages-tuple"]`, the way a chat UI
streams tokens; the client parses the SSE frames itself.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import uvicorn
from langchain_core.language_models import BaseChatModel

from threadloom.service.app import create_app
from threadloom.service.assistants import GRAPH_ID
from threadloom.service.deployment.builtin_agent import agent_graph
from threadloom.service.settings import Settings


@dataclass(frozen=True)
class StreamedRun:
    """What the client saw of one run: when its first token came, how many tokens, how long."""

    first_token_s: float
    total_s: float
    output_tokens: int
    text: str


@asynccontextmanager
async def serve(model: BaseChatModel, max_new_tokens: int) -> AsyncIterator[httpx.AsyncClient]:
    """The service over `model` (no tools: one model call per run), and a client bound to it."""
    with tempfile.TemporaryDirectory(prefix="threadloom-bench-") as workdir:
        settings = Settings(
            db=Path(workdir) / "bench.sqlite",
            tools=[],
            max_new_tokens=max_new_tokens,
            log_level="warning",
        )
        app = create_app(settings, {GRAPH_ID: agent_graph(settings, model)})
        server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", access_log=False)
        )
        serving = asyncio.create_task(server.serve())
        while not server.started:
            if serving.done():
                serving.result()  # raises what stopped the server from starting
            await asyncio.sleep(0.01)  # uvicorn offers no start event to await
        port = server.servers[0].sockets[0].getsockname()[1]
        limits = httpx.Limits(max_connections=64)
        try:
            async with httpx.AsyncClient(
                base_url=f"http://127.0.0.1:{port}", timeout=120, limits=limits
            ) as client:
                yield client
        finally:
            server.should_exit = True
            await serving


async def stream_run(client: httpx.AsyncClient, prompt: str) -> StreamedRun:
    """One stateless run streamed as messages-tuple; tokens counted from the reply's usage."""
    body = {
        "assistant_id": GRAPH_ID,
        "input": {"messages": [{"role": "user", "content": prompt}]},
        "stream_mode": ["messages-tuple"],
    }
    started = time.perf_counter()
    first: float | None = None
    tokens = 0
    text: list[str] = []
    event = ""
    async with client.stream("POST", "/runs/stream", json=body) as response:
        response.raise_for_status()
        async for line in response.aiter_lines():
            if line.startswith("event:"):
                event = line[6:].strip()
            elif line.startswith("data:") and event == "messages":
                chunk, _metadata = json.loads(line[5:])
                if chunk.get("content"):
                    first = first if first is not None else time.perf_counter()
                    text.append(chunk["content"])
                usage = chunk.get("usage_metadata") or {}
                tokens += usage.get("output_tokens", 0)
            elif event == "error" and line.startswith("data:"):
                raise RuntimeError(f"the run failed: {line[5:].strip()}")
    total = time.perf_counter() - started
    if first is None:
        raise RuntimeError("the run streamed no message content")
    return StreamedRun(first - started, total, tokens, "".join(text))
