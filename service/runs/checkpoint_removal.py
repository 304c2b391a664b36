"""Removing the checkpoints one run wrote, so that its thread returns to where it was before.

LangGraph records the run's id in the metadata of every checkpoint the run writes; deleting
those (and their pending writes) makes the latest remaining checkpoint the thread's state again.
The savers have no call for this (`adelete_for_runs` is not implemented by the SQLite and
Postgres savers), so it is done here on their tables, whose layout is part of their release.
Writes a rolled-back run made on the checkpoint it started from (when it resumed an interrupt)
stay, as in LangGraph Server.
"""

from __future__ import annotations

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver
from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

from service.errors import NotSupported

_SQLITE_RUN = "thread_id = ? AND json_extract(CAST(metadata AS TEXT), '$.run_id') = ?"
_POSTGRES_RUN = "thread_id = %s AND metadata->>'run_id' = %s"
_KEYS = "thread_id, checkpoint_ns, checkpoint_id"


async def delete_run_checkpoints(saver: BaseCheckpointSaver, thread_id: str, run_id: str) -> int:
    """Delete the checkpoints (in every namespace) that `run_id` wrote on `thread_id`; returns
    how many there were."""
    if isinstance(saver, AsyncSqliteSaver):
        return await _delete_sqlite(saver, thread_id, run_id)
    if isinstance(saver, AsyncPostgresSaver):
        return await _delete_postgres(saver, thread_id, run_id)
    raise NotSupported(
        "Rolling back a run needs the SQLite or PostgreSQL checkpointer, "
        f"not {type(saver).__name__}."
    )


async def _delete_sqlite(saver: AsyncSqliteSaver, thread_id: str, run_id: str) -> int:
    params = (thread_id, run_id)
    async with saver.lock:
        await saver.conn.execute(
            f"DELETE FROM writes WHERE ({_KEYS}) IN "
            f"(SELECT {_KEYS} FROM checkpoints WHERE {_SQLITE_RUN})",
            params,
        )
        cursor = await saver.conn.execute(f"DELETE FROM checkpoints WHERE {_SQLITE_RUN}", params)
        await saver.conn.commit()
    return cursor.rowcount


async def _delete_postgres(saver: AsyncPostgresSaver, thread_id: str, run_id: str) -> int:
    params = (thread_id, run_id)
    if isinstance(saver.conn, AsyncConnectionPool):
        async with saver.conn.connection() as conn:
            return await _delete_postgres_rows(conn, params)
    return await _delete_postgres_rows(saver.conn, params)


async def _delete_postgres_rows(conn: AsyncConnection, params: tuple[str, str]) -> int:
    async with conn.transaction():
        await conn.execute(
            f"DELETE FROM checkpoint_writes WHERE ({_KEYS}) IN "
            f"(SELECT {_KEYS} FROM checkpoints WHERE {_POSTGRES_RUN})",
            params,
        )
        cursor = await conn.execute(f"DELETE FROM checkpoints WHERE {_POSTGRES_RUN}", params)
    return cursor.rowcount
