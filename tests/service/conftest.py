"""Fixtures: a real server on loopback with the fake tool-calling model, and HTTP clients."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from langgraph_sdk import get_client
from langgraph_sdk.client import LangGraphClient

from tests.fakes import FakeToolCallingModel
from tests.service.live_server import LiveServer, StartServer, start_server


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "data" / "threadloom.sqlite"


@pytest.fixture
def model() -> FakeToolCallingModel:
    return FakeToolCallingModel()


@pytest.fixture
async def start(db: Path, model: FakeToolCallingModel) -> AsyncIterator[StartServer]:
    """Start servers on `db` (by default with `model`); all are stopped after the test."""
    running: list[LiveServer] = []

    async def _start(**overrides: Any) -> LiveServer:
        overrides.setdefault("model", model)
        server = await start_server(overrides.pop("db", db), **overrides)
        running.append(server)
        return server

    yield _start
    for server in running:
        if not server.task.done():
            await server.stop()


@pytest.fixture
async def server(start: StartServer) -> LiveServer:
    return await start()


@pytest.fixture
async def client(server: LiveServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
        yield http


@pytest.fixture
async def each_backend(storage_settings: dict[str, Any], start: StartServer) -> LiveServer:
    """A server on SQLite, then one on PostgreSQL. (`storage_settings` comes first, so that its
    database outlives the server, which `start` stops.)"""
    return await start(**storage_settings)


@pytest.fixture
async def sdk(server: LiveServer) -> AsyncIterator[LangGraphClient]:
    """The SDK's client of the server on SQLite."""
    async with get_client(url=server.url) as client:
        yield client
