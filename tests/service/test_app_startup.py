"""Start-up: what the app opens, and what it refuses."""

from __future__ import annotations

import sqlite3
from functools import partial
from pathlib import Path

import pytest

from service.agent import make_agent_graph
from service.app import open_services
from service.errors import ConfigurationError
from service.settings import Settings
from tests.fakes import FakeToolCallingModel


async def test_opens_one_sqlite_file_for_checkpoints_threads_and_runs(tmp_path: Path) -> None:
    db = tmp_path / "nested" / "dir" / "threadloom.sqlite"
    factory = partial(make_agent_graph, model=FakeToolCallingModel())

    async with open_services(Settings(db=db), factory) as services:
        assert services.graph.name == "agent"
        assert services.graph.config["recursion_limit"] == Settings().max_steps

    with sqlite3.connect(db) as conn:
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
        (journal,) = conn.execute("PRAGMA journal_mode").fetchone()
    assert {"checkpoints", "writes", "threads", "runs"} <= tables
    assert journal == "wal"


async def test_postgres_url_is_refused_until_supported(tmp_path: Path) -> None:
    settings = Settings(db=tmp_path / "t.sqlite", database_url="postgresql://localhost/test")
    factory = partial(make_agent_graph, model=FakeToolCallingModel())

    with pytest.raises(ConfigurationError, match="THREADLOOM_DATABASE_URL"):
        async with open_services(settings, factory):
            pass
