"""The service's tables in the SQLite file the checkpointer also uses (the embedded default).

Both share one file, and one connection, so that a thread and its checkpoints live and go
together. WAL mode lets readers in other processes (backups, `sqlite3` at a prompt) read while
the service writes. The schema version is `PRAGMA user_version`.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from threadloom.service.http.json_codec import dumps, loads
from threadloom.service.storage.database import Dialect, Queries, Row
from threadloom.service.storage.migrations import MIGRATIONS


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
    # json_each also walks a scalar or an object; only array elements have an integer key.
    json_array_contains=lambda column: (
        f"EXISTS (SELECT 1 FROM json_each({column}, ?) AS item "
        "WHERE typeof(item.key) = 'integer' AND item.value IS json_extract(?, '$[0]'))"
    ),
    for_update="",
    is_unique_violation=lambda exc: (
        isinstance(exc, sqlite3.IntegrityError) and "UNIQUE" in str(exc)
    ),
)


class _Connection:
    """Statements on the one connection; the caller holds the lock."""

    dialect = SQLITE

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        return self._conn.execute(sql, params).rowcount

    async def execute_many(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        self._conn.executemany(sql, rows)

    async def fetch_one(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        return self._cursor().execute(sql, params).fetchone()

    async def fetch_all(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        return self._cursor().execute(sql, params).fetchall()

    def _cursor(self) -> sqlite3.Cursor:
        # Rows by column name here only: LangGraph's saver on the same connection reads tuples.
        cursor = self._conn.cursor()
        cursor.row_factory = sqlite3.Row
        return cursor


class SqliteDatabase:
    """One sqlite3 connection in autocommit mode, used from the event loop's thread.

    Statements run inline rather than on a worker thread: each takes microseconds on the local
    file, less than the hand-over to a thread would cost. A lock keeps each transaction whole;
    a transaction's body must await nothing but its own statements, which never suspend here.
    """

    dialect = SQLITE

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._connection = _Connection(conn)
        self._conn = conn
        self._lock = asyncio.Lock()

    @property
    def connection(self) -> sqlite3.Connection:
        """The connection, which the checkpointer shares (`service.storage.sqlite_saver`)."""
        return self._conn

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
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._connection
            except BaseException:
                self._conn.rollback()
                raise
            self._conn.commit()

    async def migrate(self) -> None:
        """Apply the migrations this file has not had yet."""
        async with self._lock:
            version = self._conn.execute("PRAGMA user_version").fetchone()[0]
            for number, migration in enumerate(MIGRATIONS[version:], start=version + 1):
                # One script, so the version bump commits with the schema change.
                try:
                    self._conn.executescript(
                        f"BEGIN;\n{migration.sqlite}\nPRAGMA user_version = {number};\nCOMMIT;"
                    )
                except BaseException:
                    self._conn.rollback()
                    raise


@asynccontextmanager
async def open_sqlite(path: Path) -> AsyncIterator[SqliteDatabase]:
    """Open (creating if needed) the SQLite file at `path` with the service's tables migrated."""
    path.parent.mkdir(parents=True, exist_ok=True)
    # Not tied to one thread: start-up and shutdown may run on another than the requests.
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        # In WAL mode a commit survives a crash of the process without an fsync each time.
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA foreign_keys=ON")
        # Another process on the file (a backup, a second server by mistake) holds the write
        # lock only briefly; wait for it rather than fail, but not long: the loop waits too.
        conn.execute("PRAGMA busy_timeout=2000")
        db = SqliteDatabase(conn)
        await db.migrate()
        yield db
    finally:
        conn.close()
