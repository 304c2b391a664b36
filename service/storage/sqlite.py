"""The service's tables in the SQLite file the checkpointer also uses (the embedded default).

Both share one file so that a thread and its checkpoints live and go together. WAL mode lets
the checkpointer's connection and this one read while the other writes. The schema version is
`PRAGMA user_version`.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import aiosqlite

from service.json_codec import dumps, loads
from service.storage.database import Dialect, Queries, Row
from service.storage.migrations import MIGRATIONS


def _json_path(key: str) -> str:
    escaped = key.replace("\\", "\\\\").replace('"', '\\"')
    return f'$."{escaped}"'


SQLITE = Dialect(
    name="sqlite",
    # Fixed-width ISO text, so that text order is time order.
    time=lambda moment: moment.isoformat(timespec="microseconds"),
    read_time=datetime.fromisoformat,
    json=lambda value: dumps(value).decode(),
    read_json=loads,
    # json_extract on both sides compares scalars as SQL values and objects as JSON text.
    json_field_equals=lambda column: f"json_extract({column}, ?) IS json_extract(?, '$')",
    json_key=_json_path,
    for_update="",
    is_unique_violation=lambda exc: (
        isinstance(exc, sqlite3.IntegrityError) and "UNIQUE" in str(exc)
    ),
)


class _Connection:
    """Statements on the one connection; the caller holds the lock."""

    dialect = SQLITE

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        async with self._conn.execute(sql, params) as cursor:
            return cursor.rowcount

    async def execute_many(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        await self._conn.executemany(sql, rows)

    async def fetch_one(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        async with self._conn.execute(sql, params) as cursor:
            return await cursor.fetchone()

    async def fetch_all(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        async with self._conn.execute(sql, params) as cursor:
            return list(await cursor.fetchall())


class SqliteDatabase:
    """One aiosqlite connection in autocommit mode; a lock keeps each statement, or each
    transaction, from interleaving with another coroutine's."""

    dialect = SQLITE

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._connection = _Connection(conn)
        self._conn = conn
        self._lock = asyncio.Lock()

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        async with self._lock:
            return await self._connection.execute(sql, params)

    async def execute_many(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        async with self.transaction() as tx:
            await tx.execute_many(sql, rows)

    async def fetch_one(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        async with self._lock:
            return await self._connection.fetch_one(sql, params)

    async def fetch_all(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        async with self._lock:
            return await self._connection.fetch_all(sql, params)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Queries]:
        async with self._lock:
            # IMMEDIATE takes the write lock now, so a read-then-write cannot deadlock later.
            await self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._connection
            except BaseException:
                await self._conn.rollback()
                raise
            await self._conn.commit()

    async def migrate(self) -> None:
        """Apply the migrations this file has not had yet."""
        async with self._lock, self._conn.execute("PRAGMA user_version") as cursor:
            row = await cursor.fetchone()
        version = row[0] if row else 0
        for number, migration in enumerate(MIGRATIONS[version:], start=version + 1):
            async with self._lock:
                # One script, so the version bump commits with the schema change.
                try:
                    await self._conn.executescript(
                        f"BEGIN;\n{migration.sqlite}\nPRAGMA user_version = {number};\nCOMMIT;"
                    )
                except BaseException:
                    await self._conn.rollback()
                    raise


@asynccontextmanager
async def open_sqlite(path: Path) -> AsyncIterator[SqliteDatabase]:
    """Open (creating if needed) the SQLite file at `path` with the service's tables migrated."""
    path.parent.mkdir(parents=True, exist_ok=True)
    async with aiosqlite.connect(path, isolation_level=None) as conn:
        conn.row_factory = aiosqlite.Row
        await conn.execute("PRAGMA journal_mode=WAL")
        # In WAL mode a commit survives a crash of the process without an fsync each time.
        await conn.execute("PRAGMA synchronous=NORMAL")
        await conn.execute("PRAGMA foreign_keys=ON")
        # The checkpointer writes through its own connection: wait for it rather than fail.
        await conn.execute("PRAGMA busy_timeout=10000")
        db = SqliteDatabase(conn)
        await db.migrate()
        yield db
