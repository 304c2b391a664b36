"""The floor a server stands on: the service's compiled graph invoked in this process, no HTTP.

Each checkpointer the service can use is opened as the service opens it, so that
"service / in-process" isolates what the service adds around the same graph and storage; and
LangGraph's own `AsyncSqliteSaver` as its documentation opens it, the floor a library user has.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Literal

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver
from langgraph.pregel import Pregel
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from bench.fake_graph import TOOLS, build_fake_graph, expect_answer, run_input
from bench.load import RunOnce
from threadloom.service.deployment.builtin_agent import compile_agent
from threadloom.service.settings import Settings
from threadloom.service.storage.sqlite import open_sqlite
from threadloom.service.storage.sqlite_saver import EmbeddedSqliteSaver

Checkpointer = Literal["memory", "sqlite", "sqlite-aio", "postgres"]
CHECKPOINTER_NAMES: dict[Checkpointer, str] = {
    "memory": "InMemorySaver",
    "sqlite": "EmbeddedSqliteSaver",
    "sqlite-aio": "AsyncSqliteSaver",
    "postgres": "AsyncPostgresSaver",
}
# Enough connections that 50 concurrent runs rarely wait for one, few enough for a shared server.
POSTGRES_POOL_SIZE = 10


@asynccontextmanager
async def open_checkpointer(
    kind: Checkpointer, workdir: Path, postgres_url: str
) -> AsyncIterator[BaseCheckpointSaver]:
    """A ready checkpointer of `kind`: in memory, on a new SQLite file (the service's saver or
    LangGraph's async one), or on `postgres_url`."""
    if kind == "memory":
        yield InMemorySaver()
    elif kind == "sqlite":
        async with open_sqlite(workdir / "in-process.sqlite") as db:
            saver = EmbeddedSqliteSaver(db.connection)
            saver.setup()
            yield saver
    elif kind == "sqlite-aio":
        path = workdir / "in-process-aio.sqlite"
        async with AsyncSqliteSaver.from_conn_string(str(path)) as saver:
            await saver.setup()
            yield saver
    else:
        async with AsyncConnectionPool(
            postgres_url,
            max_size=POSTGRES_POOL_SIZE,
            kwargs={"autocommit": True, "prepare_threshold": 0, "row_factory": dict_row},
            open=False,
        ) as pool:
            saver = AsyncPostgresSaver(conn=pool)
            await saver.setup()
            yield saver


def compile_for(checkpointer: BaseCheckpointSaver) -> Pregel:
    """The benchmark graph compiled exactly as the service compiles it."""
    return compile_agent(build_fake_graph(), Settings(tools=TOOLS), checkpointer)


def graph_run(graph: Pregel, thread_ids: list[str]) -> RunOnce:
    """One run as a library user does it: `ainvoke` on a new thread; its id goes to `thread_ids`."""

    async def run_once() -> None:
        thread_id = str(uuid.uuid4())
        thread_ids.append(thread_id)
        values = await graph.ainvoke(run_input(), {"configurable": {"thread_id": thread_id}})
        expect_answer(values)

    return run_once
