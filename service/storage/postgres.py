"""The service's tables in PostgreSQL, shared by every replica, next to LangGraph's checkpoints.

One psycopg connection pool serves the checkpointer and the tables. The pool checks each
connection before lending it, so connections that a database restart (or `pg_terminate_backend`)
broke are replaced instead of failing the next request (see `_check_if_dropped`).
"""

from __future__ import annotations

import asyncio
import select
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from functools import lru_cache
from typing import Any

import psycopg
from psycopg.conninfo import conninfo_to_dict
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from threadloom.service.errors import ConfigurationError
from threadloom.service.http.json_codec import dumps
from threadloom.service.storage.database import Dialect, Queries, Row
from threadloom.service.storage.migrations import MIGRATIONS

# Any constant works; it names the lock that start-ups take while they migrate the schema.
SCHEMA_LOCK = 0x7468_726C_6D00  # "thrlm"
SCHEMA_LOCK_POLL_S = 0.1


def _jsonb(value: Any) -> Jsonb:
    return Jsonb(value, dumps=lambda obj: dumps(obj).decode())


def _same(value: Any) -> Any:
    return value


POSTGRES = Dialect(
    name="postgres",
    time=_same,
    read_time=_same,
    json=_jsonb,
    read_json=_same,
    json_field_equals=lambda column: f"{column} -> ? = ?",
    json_key=_same,
    # A scalar or an object never contains an array, so only a list holding the item matches.
    json_array_contains=lambda column: f"({column} -> ?) @> ?",
    for_update=" FOR UPDATE",
    is_unique_violation=lambda exc: isinstance(exc, psycopg.errors.UniqueViolation),
)


@lru_cache(maxsize=256)
def _pyformat(sql: str) -> str:
    """Our `?` placeholders in psycopg's `%s` style (and literal `%` escaped)."""
    return sql.replace("%", "%%").replace("?", "%s")


class _Connection:
    """Statements on one connection (inside a transaction)."""

    dialect = POSTGRES

    def __init__(self, conn: psycopg.AsyncConnection[Row]) -> None:
        self._conn = conn

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        cursor = await self._conn.execute(_pyformat(sql), params)
        return cursor.rowcount

    async def execute_many(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        async with self._conn.cursor() as cursor:
            await cursor.executemany(_pyformat(sql), rows)

    async def fetch_one(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        cursor = await self._conn.execute(_pyformat(sql), params)
        return await cursor.fetchone()

    async def fetch_all(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        cursor = await self._conn.execute(_pyformat(sql), params)
        return await cursor.fetchall()


class PostgresDatabase:
    """Statements on pooled connections: each alone, or together in `transaction()`."""

    dialect = POSTGRES

    def __init__(self, pool: AsyncConnectionPool) -> None:
        self.pool = pool

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        async with self.pool.connection() as conn:
            return await _Connection(conn).execute(sql, params)

    async def execute_many(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        async with self.transaction() as tx:
            await tx.execute_many(sql, rows)

    async def fetch_one(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        async with self.pool.connection() as conn:
            return await _Connection(conn).fetch_one(sql, params)

    async def fetch_all(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        async with self.pool.connection() as conn:
            return await _Connection(conn).fetch_all(sql, params)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Queries]:
        async with self.pool.connection() as conn, conn.transaction():
            yield _Connection(conn)

    @asynccontextmanager
    async def schema_lock(self) -> AsyncIterator[None]:
        """Hold the schema lock: replicas that start together migrate one after the other.

        Waiting replicas poll rather than block in `pg_advisory_lock`: a blocked statement is an
        open transaction, and the checkpointer's `CREATE INDEX CONCURRENTLY`, run by the replica
        holding the lock, waits for every open transaction to end (a deadlock).
        """
        async with self.pool.connection() as conn:
            while True:
                cursor = await conn.execute(
                    "SELECT pg_try_advisory_lock(%s) AS locked", (SCHEMA_LOCK,)
                )
                row = await cursor.fetchone()
                if row and row["locked"]:
                    break
                await asyncio.sleep(SCHEMA_LOCK_POLL_S)
            try:
                yield
            finally:
                await conn.execute("SELECT pg_advisory_unlock(%s)", (SCHEMA_LOCK,))

    async def migrate(self) -> None:
        """Apply the migrations this database has not had yet; hold `schema_lock` around it."""
        await self.execute(
            "CREATE TABLE IF NOT EXISTS threadloom_migrations (version INTEGER PRIMARY KEY)"
        )
        row = await self.fetch_one("SELECT MAX(version) AS version FROM threadloom_migrations")
        version = (row["version"] or 0) if row else 0
        for number, migration in enumerate(MIGRATIONS[version:], start=version + 1):
            async with self.pool.connection() as conn, conn.transaction():
                await conn.execute(migration.postgres)
                await conn.execute(
                    "INSERT INTO threadloom_migrations (version) VALUES (%s)", (number,)
                )


async def _check_if_dropped(conn: psycopg.AsyncConnection[Any]) -> None:
    """Before a loan: a round trip to the server only when the connection looks dropped.

    An idle connection that the server closed (a restart, `pg_terminate_backend`) has the
    server's goodbye, or the end of the stream, waiting on its socket; a healthy one has
    nothing to read. Checking every loan with a query instead costs a round trip per
    statement, as much as the statement itself on a fast network.
    """
    if not conn.closed:
        readable, _, _ = select.select([conn.fileno()], [], [], 0)
        if not readable:
            return
    await AsyncConnectionPool.check_connection(conn)


def describe(url: str) -> str:
    """The URL's host, port and database, without credentials, for messages and logs."""
    try:
        parts = conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        return "(an invalid URL)"
    return f"{parts.get('host', 'localhost')}:{parts.get('port', 5432)}/{parts.get('dbname', '')}"


@asynccontextmanager
async def open_pool(
    url: str, *, max_size: int, connect_timeout_s: float
) -> AsyncIterator[AsyncConnectionPool]:
    """A connection pool in the form LangGraph's `AsyncPostgresSaver` requires (autocommit,
    dict rows, no prepared statements), checked on each loan."""
    pool = AsyncConnectionPool(
        url,
        min_size=1,
        max_size=max_size,
        open=False,
        check=_check_if_dropped,
        timeout=connect_timeout_s,
        kwargs={"autocommit": True, "prepare_threshold": None, "row_factory": dict_row},
    )
    try:
        await pool.open(wait=True, timeout=connect_timeout_s)
    except PoolTimeout:
        await pool.close()
        raise ConfigurationError(
            f"Cannot connect to PostgreSQL at {describe(url)} within {connect_timeout_s:g} s. "
            "Check that the server runs and THREADLOOM_DATABASE_URL (or DATABASE_URL) is right, "
            "or unset it to use the SQLite file."
        ) from None
    try:
        yield pool
    finally:
        await pool.close()
