"""Removing the checkpoints one run wrote, so that its thread returns to where it was before.

LangGraph records the run's id in the metadata of every checkpoint the run writes; deleting
those (and their pending writes) makes the latest remaining checkpoint the thread's state again.
The embedded SQLite saver implements `adelete_for_runs`; the Postgres saver does not, so for it
this is done here on its tables, whose layout is part of its release.
Writes a rolled-back run made on the checkpoint it started from (when it resumed an interrupt)
stay, as in LangGraph Server.
"""

from __future__ import annotations

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

from threadloom.service.errors import NotSupported
from threadloom.service.storage.sqlite_saver import EmbeddedSqliteSaver

_POSTGRES_RUN = "thread_id = %s AND metadata->>'run_id' = %s"
_KEYS = "thread_id, checkpoint_ns, checkpoint_id"


async def delete_run_checkpoints(saver: BaseCheckpointSaver, thread_id: str, run_id: str) -> None:
    """Delete the checkpoints (in every namespace) that `run_id` wrote on `thread_id`."""
    if isinstance(saver, EmbeddedSqliteSaver):
        await saver.adelete_for_runs([run_id])
        return
    if isinstance(saver, AsyncPostgresSaver):
        await _delete_postgres(saver, thread_id, run_id)
        return
    raise NotSupported(
        "Rolling back a run needs the SQLite or PostgreSQL checkpointer, "
        f"not {type(saver).__name__}."
    )


async def _delete_postgres(saver: AsyncPostgresSaver, thread_id: str, run_id: str) -> None:
    params = (thread_id, run_id)
    if isinstance(saver.conn, AsyncConnectionPool):
        async with saver.conn.connection() as conn:
            await _delete_postgres_rows(conn, params)
    else:
        await _delete_postgres_rows(saver.conn, params)


async def _delete_postgres_rows(conn: AsyncConnection, params: tuple[str, str]) -> None:
    async with conn.transaction():
        await conn.execute(
            f"DELETE FROM checkpoint_writes WHERE ({_KEYS}) IN "
            f"(SELECT {_KEYS} FROM checkpoints WHERE {_POSTGRES_RUN})",
            params,
        )
        await conn.execute(f"DELETE FROM checkpoints WHERE {_POSTGRES_RUN}", params)
