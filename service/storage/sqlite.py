"""The service's own tables in the SQLite file the checkpointer also uses.

Both share one file so that a thread and its checkpoints live and go together. WAL mode lets
the checkpointer's connection and this one read while the other writes. Schema changes are
numbered migrations tracked with `PRAGMA user_version`.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import aiosqlite

MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE threads (
        thread_id TEXT PRIMARY KEY,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        state_updated_at TEXT NOT NULL,
        metadata TEXT NOT NULL DEFAULT '{}',
        status TEXT NOT NULL DEFAULT 'idle'
            CHECK (status IN ('idle', 'busy', 'interrupted', 'error')),
        state_values TEXT,
        interrupts TEXT NOT NULL DEFAULT '{}',
        error TEXT
    );
    CREATE INDEX threads_created_at ON threads (created_at);
    CREATE INDEX threads_status ON threads (status);
    CREATE TABLE runs (
        run_id TEXT PRIMARY KEY,
        thread_id TEXT NOT NULL REFERENCES threads (thread_id) ON DELETE CASCADE,
        assistant_id TEXT NOT NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        status TEXT NOT NULL
            CHECK (status IN ('pending', 'running', 'error', 'success', 'timeout', 'interrupted')),
        metadata TEXT NOT NULL DEFAULT '{}',
        kwargs TEXT NOT NULL DEFAULT '{}',
        multitask_strategy TEXT NOT NULL
    );
    CREATE INDEX runs_thread_created_at ON runs (thread_id, created_at);
    CREATE INDEX runs_status ON runs (status);
    """,
)


class Database:
    """One aiosqlite connection; each write is its own committed transaction, one at a time."""

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn
        self._write_lock = asyncio.Lock()

    async def write(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run one statement and commit it; returns the number of rows it changed."""
        async with self._write_lock:
            cursor = await self._conn.execute(sql, params)
            await self._conn.commit()
        return cursor.rowcount

    async def fetch_one(self, sql: str, params: Sequence[Any] = ()) -> aiosqlite.Row | None:
        async with self._conn.execute(sql, params) as cursor:
            return await cursor.fetchone()

    async def fetch_all(self, sql: str, params: Sequence[Any] = ()) -> list[aiosqlite.Row]:
        async with self._conn.execute(sql, params) as cursor:
            return list(await cursor.fetchall())


@asynccontextmanager
async def open_database(path: Path) -> AsyncIterator[Database]:
    """Open (creating if needed) the SQLite file at `path` with the service's tables migrated."""
    path.parent.mkdir(parents=True, exist_ok=True)
    async with aiosqlite.connect(path) as conn:
        conn.row_factory = aiosqlite.Row
        await conn.execute("PRAGMA journal_mode=WAL")
        await conn.execute("PRAGMA foreign_keys=ON")
        await _migrate(conn)
        yield Database(conn)


async def _migrate(conn: aiosqlite.Connection) -> None:
    async with conn.execute("PRAGMA user_version") as cursor:
        row = await cursor.fetchone()
    version = row[0] if row else 0
    for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
        # executescript commits first; the version bump rides in the same script.
        await conn.executescript(f"BEGIN;\n{script}\nPRAGMA user_version = {number};\nCOMMIT;")


def to_text(moment: datetime) -> str:
    """Timestamps as fixed-width ISO text, so that text order is time order."""
    return moment.isoformat(timespec="microseconds")


def from_text(text: str) -> datetime:
    return datetime.fromisoformat(text)
