"""`threadloom serve`: run the API server with uvicorn; flags override `THREADLOOM_*` settings.

SIGTERM (or Ctrl+C) drains the server before it stops: new runs are refused with 503, running
ones get `drain_grace_s` to finish and are then interrupted (resumable from their last
checkpoint), and the process exits with status 0. A second signal stops at once.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import socket
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

import uvicorn
from fastapi import FastAPI
from pydantic import ValidationError

from threadloom.models.errors import ModelError
from threadloom.service.agent import make_agent_graph
from threadloom.service.app import GraphFactory, create_app, drain
from threadloom.service.errors import ConfigurationError
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
        "--replica-id", help="this replica's name in the run table (THREADLOOM_REPLICA_ID)"
    )
    return parser


def parse_settings(argv: Sequence[str] | None = None) -> Settings:
    """The settings for `threadloom serve ...`: environment and `.env`, then the flags given."""
    parser = build_parser()
    args = parser.parse_args(argv)
    overrides = {
        name: value
        for name in ("host", "port", "model", "db", "replica_id")
        if (value := getattr(args, name)) is not None
    }
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        parser.error(f"invalid setting:\n{exc}")


class DrainingServer(uvicorn.Server):
    """A uvicorn server whose first SIGTERM / SIGINT drains the app (see `service.app.drain`)
    before the usual shutdown; a second one exits at once, as uvicorn's second Ctrl+C does."""

    def __init__(self, config: uvicorn.Config, app: FastAPI) -> None:
        super().__init__(config)
        self._app = app
        self._loop: asyncio.AbstractEventLoop | None = None
        self._draining: asyncio.Task[None] | None = None

    async def serve(self, sockets: list[socket.socket] | None = None) -> None:
        self._loop = asyncio.get_running_loop()
        await super().serve(sockets)

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


def serve(settings: Settings, graph_factory: GraphFactory = make_agent_graph) -> None:
    """Serve the API until a signal drains and stops the server."""
    app = create_app(settings, graph_factory)
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        log_config=None,  # uvicorn's lines go through our handler (`configure_logging`)
        timeout_graceful_shutdown=CLOSE_CONNECTIONS_S,
    )
    DrainingServer(config, app).run()


def main(argv: Sequence[str] | None = None, graph_factory: GraphFactory = make_agent_graph) -> int:
    settings = parse_settings(argv)
    configure_logging(settings.log_level, settings.log_format)
    try:
        serve(settings, graph_factory)
    except (ConfigurationError, ModelError) as exc:
        # A setting the user must fix: say what, without a traceback.
        logger.error("%s", exc)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
