"""The real app under uvicorn in a thread of its own, for synchronous clients (schemathesis)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any

import uvicorn

from tests.fakes import FakeToolCallingModel
from threadloom.service.agent import make_agent_graph
from threadloom.service.app import create_app
from threadloom.service.http_server import uvicorn_config
from threadloom.service.settings import Settings

START_TIMEOUT_S = 60.0


@contextmanager
def threaded_server(db: Path, **settings: Any) -> Iterator[str]:
    """Serve the app with the fake model on 127.0.0.1 (ephemeral port); yields its URL."""
    resolved = Settings(db=db, **settings)
    app = create_app(
        resolved, graph_factory=partial(make_agent_graph, model=FakeToolCallingModel())
    )
    config = uvicorn_config(
        app, resolved, host="127.0.0.1", port=0, log_level="warning", timeout_graceful_shutdown=5
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    started = threading.Event()
    while not server.started and thread.is_alive():
        started.wait(0.02)  # uvicorn sets a plain flag: there is no event to wait on
    if not server.started:
        raise RuntimeError("the server stopped during start-up")
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(30)
