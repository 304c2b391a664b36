"""`threadloom serve`: run the API server with uvicorn; flags override `THREADLOOM_*` settings."""

from __future__ import annotations

import argparse
import logging
from collections.abc import Sequence
from pathlib import Path

import uvicorn
from pydantic import ValidationError

from service.app import create_app
from service.settings import Settings


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
    return parser


def parse_settings(argv: Sequence[str] | None = None) -> Settings:
    """The settings for `threadloom serve ...`: environment and `.env`, then the flags given."""
    parser = build_parser()
    args = parser.parse_args(argv)
    overrides = {
        name: value
        for name in ("host", "port", "model", "db")
        if (value := getattr(args, name)) is not None
    }
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        parser.error(f"invalid setting:\n{exc}")


def main(argv: Sequence[str] | None = None) -> int:
    settings = parse_settings(argv)
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    uvicorn.run(
        create_app(settings), host=settings.host, port=settings.port, log_level=settings.log_level
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
