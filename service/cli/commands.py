"""`threadloom serve`: run the API server with uvicorn; flags override `THREADLOOM_*` settings.

SIGTERM (or Ctrl+C) drains the server before it stops: new runs are refused with 503, running
ones get `drain_grace_s` to finish and are then interrupted (resumable from their last
checkpoint), and the process exits with status 0. A second signal stops at once.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import os
import signal
import socket
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import FrameType

import uvicorn
from fastapi import FastAPI
from pydantic import ValidationError

from threadloom.models.errors import ModelError
from threadloom.service.app import create_app
from threadloom.service.cli.chat import run_chat
from threadloom.service.deployment.graph_registry import GraphValue
from threadloom.service.errors import ConfigurationError
from threadloom.service.http.server import uvicorn_config
from threadloom.service.lifespan import drain
from threadloom.service.observability.log_format import configure_logging
from threadloom.service.settings import Settings

logger = logging.getLogger(__name__)

# After draining, how long open connections (e.g. streams following other replicas' runs) may
# take to close before they are cut; their clients can rejoin elsewhere.
CLOSE_CONNECTIONS_S = 5.0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="threadloom", description="A self-hosted agent server for open Hugging Face models."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="serve the LangGraph Server API over HTTP")
    serve.add_argument("--host", help="interface to listen on (THREADLOOM_HOST)")
    serve.add_argument("--port", type=int, help="port to listen on (THREADLOOM_PORT)")
    serve.add_argument("--model", help='"bundled", a hub id or a local folder (THREADLOOM_MODEL)')
    serve.add_argument("--db", type=Path, help="SQLite file for threads (THREADLOOM_DB)")
    serve.add_argument(
        "--config",
        type=Path,
        help="langgraph.json naming the graphs to serve (THREADLOOM_CONFIG; default: "
        "./langgraph.json if present, else the built-in agent)",
    )
    serve.add_argument(
        "--replica-id", help="this replica's name in the run table (THREADLOOM_REPLICA_ID)"
    )
    chat = commands.add_parser("chat", help="talk to a running server from this terminal")
    chat.add_argument("--url", default="http://127.0.0.1:8000", help="the server's address")
    chat.add_argument("--assistant", default="agent", help="assistant id or graph id")
    chat.add_argument("--thread", help="continue this thread (default: a new one)")
    chat.add_argument(
        "--api-key", default=os.environ.get("THREADLOOM_API_KEY"),
        help="the key, when the server requires one (THREADLOOM_API_KEY)",
    )
    return parser


FLAGS = ("host", "port", "model", "db", "replica_id", "config")


def parse_settings(argv: Sequence[str] | None = None) -> Settings:
    """The settings for `threadloom serve ...`: environment and `.env`, then the flags given.

    The flags are also set as their `THREADLOOM_*` variables, so that every part of the process
    that reads the settings sees them: the built-in agent, which the deployment file names like
    any other graph, builds its model from `Settings()`.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    overrides = {name: value for name in FLAGS if (value := getattr(args, name)) is not None}
    try:
        settings = Settings(**overrides)
    except ValidationError as exc:
        parser.error(f"invalid setting:\n{exc}")
    for name, value in overrides.items():
        os.environ[f"THREADLOOM_{name.upper()}"] = str(value)
    return settings


# Young objects before a collection, then young and middle collections before the next older.
GC_THRESHOLDS = (100_000, 50, 100)

class DrainingServer(uvicorn.Server):
    """A uvicorn server whose first SIGTERM / SIGINT drains the app (see `service.lifespan.drain`)
    before the usual shutdown; a second one exits at once, as uvicorn's second Ctrl+C does.

    Once started it freezes the heap: what start-up built (modules, the model, the compiled
    graphs) lives as long as the process, and a full collection that scanned it all took 1 to
    2.4 s with 10,000 streams open (`bench.open_streams`), stalling every request meanwhile.
    It also lets many more objects be made before the collector runs (`GC_THRESHOLDS`): with
    the default 700, what a stream's heartbeat makes outlived a young collection, reached the
    oldest generation and set off a full collection of every stream's objects every few
    seconds (`/ok` max 1.9 to 2.0 s while 10,000 streams were open; 20 to 42 ms with these).
    """

    def __init__(self, config: uvicorn.Config, app: FastAPI) -> None:
        super().__init__(config)
        self._app = app
        self._loop: asyncio.AbstractEventLoop | None = None
        self._draining: asyncio.Task[None] | None = None

    async def serve(self, sockets: list[socket.socket] | None = None) -> None:
        self._loop = asyncio.get_running_loop()
        await super().serve(sockets)

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        gc.collect()  # start-up's own garbage, before the rest is set aside
        gc.freeze()
        gc.set_threshold(*GC_THRESHOLDS)

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if self._draining is not None:  # a second signal: stop now
            self.force_exit = True
        if self._draining is not None or self._loop is None or not self.started:
            super().handle_exit(sig, frame)
            return
        # A signal handler must not touch the loop directly; this only schedules.
        self._loop.call_soon_threadsafe(self._start_draining, signal.Signals(sig).name)

    def _start_draining(self, signal_name: str) -> None:
        if self._draining is None:
            logger.info("received %s: draining", signal_name)
            self._draining = asyncio.create_task(self._drain_then_exit(), name="drain")

    async def _drain_then_exit(self) -> None:
        try:
            await drain(self._app.state.services)
        except Exception:
            logger.exception("draining failed; shutting down")
        self.should_exit = True


def serve(settings: Settings, graphs: Mapping[str, GraphValue] | None = None) -> None:
    """Serve the API until a signal drains and stops the server."""
    app = create_app(settings, graphs)
    config = uvicorn_config(
        app,
        settings,
        log_config=None,  # uvicorn's lines go through our handler (`configure_logging`)
        timeout_graceful_shutdown=CLOSE_CONNECTIONS_S,
    )
    DrainingServer(config, app).run()


def main(
    argv: Sequence[str] | None = None,
    graphs: Callable[[Settings], Mapping[str, GraphValue]] | None = None,
) -> int:
    """`threadloom serve` or `threadloom chat`; `graphs` (tests) makes the graphs to serve from
    the settings, instead of the deployment file's."""
    args = build_parser().parse_args(argv)
    if args.command == "chat":
        return run_chat(args.url, args.assistant, args.thread, args.api_key)
    settings = parse_settings(argv)
    configure_logging(settings.log_level, settings.log_format)
    try:
        serve(settings, graphs(settings) if graphs is not None else None)
    except (ConfigurationError, ModelError) as exc:
        # A setting or a graph the user must fix: say what, on one line, without a traceback.
        logger.error("%s", exc)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
