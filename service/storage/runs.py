"""The run table: each run's request, status and timestamps."""

from __future__ import annotations

import aiosqlite

from service.json_codec import dumps, loads
from service.storage.records import RunRecord, RunStatus, utc_now
from service.storage.sqlite import Database, from_text, to_text

_COLUMNS = (
    "run_id, thread_id, assistant_id, created_at, updated_at, status, metadata, kwargs, "
    "multitask_strategy"
)


class SqliteRuns:
    """Run rows in the service's SQLite database."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def create(self, run: RunRecord) -> None:
        await self._db.write(
            f"INSERT INTO runs ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                run.run_id,
                run.thread_id,
                run.assistant_id,
                to_text(run.created_at),
                to_text(run.updated_at),
                run.status,
                dumps(run.metadata).decode(),
                dumps(run.kwargs).decode(),
                run.multitask_strategy,
            ),
        )

    async def set_status(self, run_id: str, status: RunStatus) -> None:
        await self._db.write(
            "UPDATE runs SET status = ?, updated_at = ? WHERE run_id = ?",
            (status, to_text(utc_now()), run_id),
        )

    async def get(self, thread_id: str, run_id: str) -> RunRecord | None:
        row = await self._db.fetch_one(
            f"SELECT {_COLUMNS} FROM runs WHERE thread_id = ? AND run_id = ?",
            (thread_id, run_id),
        )
        return _record(row) if row else None

    async def list(
        self, thread_id: str, *, limit: int, offset: int, status: RunStatus | None = None
    ) -> list[RunRecord]:
        """The thread's runs, newest first."""
        status_clause = "AND status = ?" if status else ""
        params = (thread_id, status) if status else (thread_id,)
        rows = await self._db.fetch_all(
            f"SELECT {_COLUMNS} FROM runs WHERE thread_id = ? {status_clause} "
            "ORDER BY created_at DESC, run_id DESC LIMIT ? OFFSET ?",
            (*params, limit, offset),
        )
        return [_record(row) for row in rows]

    async def abandon_unfinished(self) -> int:
        """Mark runs left pending or running by a stopped process as interrupted."""
        return await self._db.write(
            "UPDATE runs SET status = 'interrupted', updated_at = ? "
            "WHERE status IN ('pending', 'running')",
            (to_text(utc_now()),),
        )


def _record(row: aiosqlite.Row) -> RunRecord:
    return RunRecord(
        run_id=row["run_id"],
        thread_id=row["thread_id"],
        assistant_id=row["assistant_id"],
        created_at=from_text(row["created_at"]),
        updated_at=from_text(row["updated_at"]),
        status=row["status"],
        metadata=loads(row["metadata"]),
        kwargs=loads(row["kwargs"]),
        multitask_strategy=row["multitask_strategy"],
    )
