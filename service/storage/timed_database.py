"""`TimedDatabase`: a `Database` that reports how long each statement took (for metrics).

It wraps the SQLite or PostgreSQL implementation and times each statement as its caller waits
for it: with SQLite that includes waiting for the connection's lock, with PostgreSQL for a pooled
connection; statements inside a transaction are timed one by one.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from typing import Any, Protocol

from threadloom.service.storage.database import Database, Dialect, Queries, Row


class StatementObserver(Protocol):
    def __call__(self, backend: str, sql: str, seconds: float) -> None:
        """A statement (`sql`, with placeholders) on `backend` ("sqlite"/"postgres") ended."""
        ...


class _TimedQueries:
    """`Queries` that report each statement's duration."""

    def __init__(self, queries: Queries, observe: StatementObserver) -> None:
        self._queries = queries
        self._observe = observe
        self._backend = queries.dialect.name

    @property
    def dialect(self) -> Dialect:
        return self._queries.dialect

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        started = time.perf_counter()
        try:
            return await self._queries.execute(sql, params)
        finally:
            self._observe(self._backend, sql, time.perf_counter() - started)

    async def execute_many(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        started = time.perf_counter()
        try:
            await self._queries.execute_many(sql, rows)
        finally:
            self._observe(self._backend, sql, time.perf_counter() - started)

    async def fetch_one(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        started = time.perf_counter()
        try:
            return await self._queries.fetch_one(sql, params)
        finally:
            self._observe(self._backend, sql, time.perf_counter() - started)

    async def fetch_all(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        started = time.perf_counter()
        try:
            return await self._queries.fetch_all(sql, params)
        finally:
            self._observe(self._backend, sql, time.perf_counter() - started)


class TimedDatabase(_TimedQueries):
    """`database`, with every statement (alone or in a transaction) reported to `observe`."""

    def __init__(self, database: Database, observe: StatementObserver) -> None:
        super().__init__(database, observe)
        self._database = database

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Queries]:
        async with self._database.transaction() as tx:
            yield _TimedQueries(tx, self._observe)
