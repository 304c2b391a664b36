"""LangGraph's SQLite checkpointer, awaited on the event loop itself, plus what it lacks.

`AsyncSqliteSaver` sends every statement to aiosqlite's worker thread and back: about 80 µs of
CPU per statement on our machines, against 10-20 µs for the statement itself, and a run makes
dozens. Here the sync `SqliteSaver` does the work inline instead. That is safe because the
embedded file has one process and one connection (shared with the service's tables, see
`service.storage.sqlite`), every call is short, and no call awaits while it holds the
connection, so calls cannot interleave. The tables are LangGraph's own: a file written by
`AsyncSqliteSaver` opens here unchanged, and the other way round.

It also implements the optional parts of the saver API that the LangGraph Server needs and the
upstream SQLite saver leaves out: deleting what given runs wrote (rollback), copying a thread
and pruning threads.
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import (
    ChannelVersions,
    Checkpoint,
    CheckpointMetadata,
    CheckpointTuple,
    DeltaChannelHistory,
)
from langgraph.checkpoint.sqlite import SqliteSaver

from threadloom.service.storage.checkpoint_metadata import with_thread_id

_KEYS = "thread_id, checkpoint_ns, checkpoint_id"
_OF_RUN = "json_extract(CAST(metadata AS TEXT), '$.run_id') = ?"
PRUNE_STRATEGIES = ("keep_latest", "delete")


class EmbeddedSqliteSaver(SqliteSaver):
    """`SqliteSaver` whose async methods run its sync ones directly (see the module's doc)."""

    async def aget_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        return self.get_tuple(config)

    async def alist(
        self,
        config: RunnableConfig | None,
        *,
        filter: dict[str, Any] | None = None,
        before: RunnableConfig | None = None,
        limit: int | None = None,
    ) -> AsyncIterator[CheckpointTuple]:
        # Read in full first: the sync generator holds the saver's lock between items, and a
        # consumer that awaits between them would let another call block on that lock.
        for item in list(self.list(config, filter=filter, before=before, limit=limit)):
            yield item

    async def aput(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        return self.put(config, checkpoint, with_thread_id(config, metadata), new_versions)

    async def aput_writes(
        self,
        config: RunnableConfig,
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str = "",
    ) -> None:
        self.put_writes(config, writes, task_id, task_path)

    async def adelete_thread(self, thread_id: str) -> None:
        self.delete_thread(thread_id)

    async def aget_delta_channel_history(
        self, *, config: RunnableConfig, channels: Sequence[str]
    ) -> Mapping[str, DeltaChannelHistory]:
        return self.get_delta_channel_history(config=config, channels=channels)

    def delete_for_runs(self, run_ids: Sequence[str]) -> None:
        """Delete the checkpoints the runs wrote, in every thread and namespace, and their
        pending writes: the thread's latest remaining checkpoint is its state again."""
        with self._transaction() as cur:
            for run_id in run_ids:
                cur.execute(
                    f"DELETE FROM writes WHERE ({_KEYS}) IN "
                    f"(SELECT {_KEYS} FROM checkpoints WHERE {_OF_RUN})",
                    (run_id,),
                )
                cur.execute(f"DELETE FROM checkpoints WHERE {_OF_RUN}", (run_id,))

    async def adelete_for_runs(self, run_ids: Sequence[str]) -> None:
        self.delete_for_runs(run_ids)

    def copy_thread(self, source_thread_id: str, target_thread_id: str) -> None:
        """Copy every checkpoint and write of one thread (its whole history) to another."""
        with self._transaction() as cur:
            for table in ("checkpoints", "writes"):
                columns = self._columns(cur, table)
                others = ", ".join(column for column in columns if column != "thread_id")
                cur.execute(
                    f"INSERT OR REPLACE INTO {table} (thread_id, {others}) "
                    f"SELECT ?, {others} FROM {table} WHERE thread_id = ?",
                    (target_thread_id, source_thread_id),
                )

    async def acopy_thread(self, source_thread_id: str, target_thread_id: str) -> None:
        self.copy_thread(source_thread_id, target_thread_id)

    def prune(self, thread_ids: Sequence[str], *, strategy: str = "keep_latest") -> None:
        """Keep only each namespace's latest checkpoint (`keep_latest`), or none (`delete`).

        Checkpoint ids sort in time order, so the latest is the greatest. The graphs served
        here keep no `DeltaChannel`, whose history pruning would cut (see the base class).
        """
        if strategy not in PRUNE_STRATEGIES:
            raise ValueError(f"Unknown prune strategy {strategy!r}; use one of {PRUNE_STRATEGIES}.")
        if strategy == "delete":
            for thread_id in thread_ids:
                self.delete_thread(thread_id)
            return
        older = (
            "thread_id = ? AND checkpoint_id < (SELECT MAX(latest.checkpoint_id) FROM checkpoints "
            "AS latest WHERE latest.thread_id = {t}.thread_id "
            "AND latest.checkpoint_ns = {t}.checkpoint_ns)"
        )
        with self._transaction() as cur:
            for thread_id in thread_ids:
                cur.execute(f"DELETE FROM writes WHERE {older.format(t='writes')}", (thread_id,))
                cur.execute(
                    f"DELETE FROM checkpoints WHERE {older.format(t='checkpoints')}", (thread_id,)
                )
                # As the Postgres saver leaves it: the kept checkpoint starts the history.
                cur.execute(
                    "UPDATE checkpoints SET parent_checkpoint_id = NULL WHERE thread_id = ?",
                    (thread_id,),
                )

    async def aprune(self, thread_ids: Sequence[str], *, strategy: str = "keep_latest") -> None:
        self.prune(thread_ids, strategy=strategy)

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Cursor]:
        """A cursor whose statements commit together or not at all (the upstream `cursor`
        commits what it did even when it fails half-way)."""
        with self.lock:
            self.setup()
            cur = self.conn.cursor()
            cur.execute("BEGIN IMMEDIATE")
            try:
                yield cur
            except BaseException:
                self.conn.rollback()
                raise
            else:
                self.conn.commit()
            finally:
                cur.close()

    @staticmethod
    def _columns(cur: Any, table: str) -> list[str]:
        return [row[1] for row in cur.execute(f"PRAGMA table_info({table})").fetchall()]
