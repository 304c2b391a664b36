"""Copying a thread's checkpoints to a new thread, and pruning threads to their latest ones.

A saver that implements LangGraph's optional `acopy_thread` / `aprune` does the work: the
embedded SQLite saver (`service.storage.sqlite_saver`) both, the Postgres saver `aprune`. The
Postgres saver has no `acopy_thread` (langgraph-checkpoint-postgres 3.2), so for it the copy is
made here on its tables, whose layout is part of its release; their columns are read from the
database, so that a column a later release adds is copied too.
"""

from __future__ import annotations

from collections.abc import Sequence

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
from psycopg import AsyncConnection, sql
from psycopg.rows import tuple_row
from psycopg_pool import AsyncConnectionPool

from threadloom.service.errors import NotSupported

_POSTGRES_TABLES = ("checkpoints", "checkpoint_blobs", "checkpoint_writes")


async def copy_thread_checkpoints(saver: BaseCheckpointSaver, source: str, target: str) -> None:
    """Give thread `target` every checkpoint, channel value and pending write of `source`: its
    whole history, under the same checkpoint ids."""
    if _implements(saver, "acopy_thread"):
        await saver.acopy_thread(source, target)
    elif isinstance(saver, AsyncPostgresSaver):
        if isinstance(saver.conn, AsyncConnectionPool):
            async with saver.conn.connection() as conn:
                await _copy_postgres_rows(conn, source, target)
        else:
            async with saver.lock:
                await _copy_postgres_rows(saver.conn, source, target)
    else:
        raise NotSupported(
            f"Copying a thread needs a checkpointer that can copy one; {type(saver).__name__} "
            "cannot."
        )


async def keep_latest_checkpoints(saver: BaseCheckpointSaver, thread_ids: Sequence[str]) -> None:
    """Delete every checkpoint of the threads but the latest of each namespace (and the pending
    writes of those deleted): the threads keep their state and lose their history."""
    if not _implements(saver, "aprune"):
        raise NotSupported(
            f"Pruning to the latest checkpoint needs a checkpointer that can prune; "
            f"{type(saver).__name__} cannot."
        )
    try:
        await saver.aprune(thread_ids, strategy="keep_latest")
    except NotImplementedError as exc:
        # The Postgres saver refuses (before pruning any) threads whose graph keeps a
        # DeltaChannel, whose history it cannot cut.
        raise NotSupported(f"These threads cannot be pruned to their latest state: {exc}") from None


def _implements(saver: BaseCheckpointSaver, method: str) -> bool:
    """Whether the saver's class overrides the base class's not-implemented `method`."""
    return getattr(type(saver), method) is not getattr(BaseCheckpointSaver, method)


async def _copy_postgres_rows(conn: AsyncConnection, source: str, target: str) -> None:
    async with conn.transaction():
        for table in _POSTGRES_TABLES:
            cursor = conn.cursor(row_factory=tuple_row)
            await cursor.execute(
                "SELECT attname FROM pg_attribute WHERE attrelid = %s::regclass "
                "AND attnum > 0 AND NOT attisdropped AND attname <> 'thread_id' ORDER BY attnum",
                (table,),
            )
            others = sql.SQL(", ").join(sql.Identifier(row[0]) for row in await cursor.fetchall())
            await conn.execute(
                sql.SQL(
                    "INSERT INTO {table} (thread_id, {others}) "
                    "SELECT %s, {others} FROM {table} WHERE thread_id = %s"
                ).format(table=sql.Identifier(table), others=others),
                (target, source),
            )
