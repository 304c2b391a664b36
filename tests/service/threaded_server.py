"""The real app under uvicorn in a thread of its own, for synchronous clients (schemathesis)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import uvicorn

from tests.fakes import FakeToolCallingModel
from threadloom.service.app import create_app
from threadloom.service.assistants import GRAPH_ID
from threadloom.service.deployment.builtin_agent import agent_graph
from threadloom.service.http.server import uvicorn_config
from threadloom.service.settings import Settings

START_TIMEOUT_S = 120.0


class _ReadyServer(uvicorn.Server):
    """A uvicorn server that signals another thread, without polling, once it serves (or
    failed to start)."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.ready = threading.Event()

    async def startup(self, sockets: Any = None) -> None:
        try:
            await super().startup(sockets)
        finally:
            self.ready.set()

    def run(self, sockets: Any = None) -> None:
        try:
            super().run(sockets)
        finally:
            self.ready.set()  # start-up failed before `startup` ran: do not leave the test waiting


@contextmanager
def threaded_server(db: Path, **settings: Any) -> Iterator[str]:
    """Serve the app with the fake model on 127.0.0.1 (ephemeral port); yields its URL."""
    resolved = Settings(db=db, **settings)
    app = create_app(resolved, {GRAPH_ID: agent_graph(resolved, FakeToolCallingModel())})
    config = uvicorn_config(
        app, resolved, host="127.0.0.1", port=0, log_level="warning", timeout_graceful_shutdown=5
    )
    server = _ReadyServer(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    server.ready.wait(START_TIMEOUT_S)
    if not server.started:
        raise RuntimeError("the server stopped during start-up")
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(30)
