"""Start-up (`service.lifespan.open_services`): what the app opens, and what it refuses."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from tests.fakes import FakeToolCallingModel
from threadloom.service.deployment.builtin_agent import agent_graph
from threadloom.service.errors import ConfigurationError
from threadloom.service.lifespan import open_services
from threadloom.service.settings import Settings


async def test_opens_one_sqlite_file_for_checkpoints_threads_and_runs(tmp_path: Path) -> None:
    db = tmp_path / "nested" / "dir" / "threadloom.sqlite"
    settings = Settings(db=db)
    graphs = {"agent": agent_graph(settings, FakeToolCallingModel())}

    async with open_services(settings, graphs) as services:
        assert services.graphs.graph_ids == ["agent"]
        async with services.graphs.open("agent") as graph:
            assert graph.name == "agent"
            assert graph.config["recursion_limit"] == Settings().max_steps
            assert graph.checkpointer is services.checkpointer

    with sqlite3.connect(db) as conn:
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
        (journal,) = conn.execute("PRAGMA journal_mode").fetchone()
    assert {"checkpoints", "writes", "threads", "runs"} <= tables
    assert journal == "wal"


async def test_an_unreachable_postgres_is_a_clear_configuration_error(tmp_path: Path) -> None:
    # Nothing listens on port 1: the pool gives up after the connect timeout.
    settings = Settings(
        db=tmp_path / "t.sqlite",
        database_url="postgresql://user:secret@127.0.0.1:1/test",
        db_connect_timeout_s=0.5,
    )
    graphs = {"agent": agent_graph(settings, FakeToolCallingModel())}

    with pytest.raises(ConfigurationError, match="THREADLOOM_DATABASE_URL") as refused:
        async with open_services(settings, graphs):
            pass
    assert "127.0.0.1:1/test" in str(refused.value) and "secret" not in str(refused.value)
