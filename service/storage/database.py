"""What the tables need from a database, and the few SQL details where SQLite and Postgres differ.

The tables (`Threads`, `Runs`, `RunEventStore`) are written once against `Database`; SQL uses
`?` placeholders and portable statements, and asks the `Dialect` for the rest: how timestamps,
JSON and booleans travel, and how to compare one key of a JSON column.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

Row = Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Dialect:
    """The SQL and value conversions that differ between the two databases."""

    name: str
    time: Callable[[datetime], Any]
    read_time: Callable[[Any], datetime]
    json: Callable[[Any], Any]
    read_json: Callable[[Any], Any]
    # `json_field_equals(column)` is a condition with two parameters: `json_key(key)` and
    # `json(value)`; it holds when the column's top-level `key` equals `value`.
    json_field_equals: Callable[[str], str]
    json_key: Callable[[str], str]
    # `json_array_contains(column)`, with parameters `json_key(key)` and `json([item])`, holds
    # when the column's top-level `key` is a list that holds `item`.
    json_array_contains: Callable[[str], str]
    # Appended to a SELECT that reads rows it will update in the same transaction.
    for_update: str
    is_unique_violation: Callable[[BaseException], bool]


class Queries(Protocol):
    """Statements on a database, each its own transaction, or all in one (see `transaction`)."""

    @property
    def dialect(self) -> Dialect: ...

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run one statement; returns the number of rows it changed."""
        ...

    async def execute_many(self, sql: str, rows: Iterable[Sequence[Any]]) -> None: ...

    async def fetch_one(self, sql: str, params: Sequence[Any] = ()) -> Row | None: ...

    async def fetch_all(self, sql: str, params: Sequence[Any] = ()) -> list[Row]: ...


class Database(Queries, Protocol):
    """The service's database: SQLite (`SqliteDatabase`) or PostgreSQL (`PostgresDatabase`)."""

    def transaction(self) -> AbstractAsyncContextManager[Queries]:
        """Statements made through the yielded object commit together, or not at all."""
        ...
