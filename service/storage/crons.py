"""The cron table: schedules that start runs, and the claim that makes one replica fire each.

Reads, searches, changes and deletes see only the current owner's crons (see
`service.storage.owners`); the scheduler, acting for nobody, sees every owner's due crons.

Firing is claimed with one guarded UPDATE: `claim` moves a cron's `next_run_date` on only if it
still holds the value the scheduler read, so when several replicas share a database and read the
same due cron, exactly one of them moves it on, and only that one starts the run.

Example:
    >>> for cron in await crons.due(now):
    ...     if await crons.claim(cron, next_run(cron.schedule, now, cron.timezone)):
    ...         ...  # start the run
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, get_args

from threadloom.service.storage.database import Database, Row
from threadloom.service.storage.owners import current_owner, visible_rows

OnRunCompleted = Literal["delete", "keep"]
CronSortBy = Literal[
    "cron_id", "assistant_id", "thread_id", "next_run_date", "end_time", "created_at", "updated_at"
]

_COLUMNS = (
    "cron_id, assistant_id, thread_id, owned_by, schedule, timezone, end_time, next_run_date, "
    "payload, metadata, on_run_completed, enabled, created_at, updated_at"
)
# sort_by reaches SQL only through this table, never as request text.
_SORT_COLUMNS = {name: name for name in get_args(CronSortBy)}
# Columns that may be NULL sort as the smallest values in both databases (see `_order_by`).
_NULLABLE = {"thread_id", "next_run_date", "end_time"}
# How many due crons one `due` call returns; the scheduler asks again at once for the rest.
DUE_BATCH = 100


@dataclass(frozen=True, slots=True)
class CronRecord:
    """A schedule and the run request it starts each time it fires."""

    cron_id: str
    assistant_id: str
    # None: each run gets a new thread (kept or deleted after, by `on_run_completed`).
    thread_id: str | None
    schedule: str
    timezone: str | None
    end_time: datetime | None
    # None once the schedule can never fire again.
    next_run_date: datetime | None
    # The request as created (and changed), from which each run is made.
    payload: dict[str, Any]
    metadata: dict[str, Any]
    on_run_completed: OnRunCompleted | None
    enabled: bool
    created_at: datetime
    updated_at: datetime
    # Set by the table from the current owner on insert.
    owned_by: str | None = None

    def to_api(self) -> dict[str, Any]:
        return {
            "cron_id": self.cron_id,
            "assistant_id": self.assistant_id,
            "thread_id": self.thread_id,
            "user_id": self.owned_by,
            "end_time": self.end_time,
            "schedule": self.schedule,
            "timezone": self.timezone,
            "payload": self.payload,
            "next_run_date": self.next_run_date,
            "metadata": self.metadata,
            "on_run_completed": self.on_run_completed,
            "enabled": self.enabled,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        }


@dataclass(frozen=True, slots=True)
class CronQuery:
    """Filters, order and page of a cron search; every filter is optional."""

    assistant_id: str | None = None
    thread_id: str | None = None
    enabled: bool | None = None
    metadata: dict[str, Any] | None = None
    limit: int = 10
    offset: int = 0
    sort_by: CronSortBy = "created_at"
    sort_order: Literal["asc", "desc"] = "desc"


class Crons:
    """Cron rows, in SQLite or PostgreSQL."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._sql = db.dialect

    async def insert(self, cron: CronRecord) -> None:
        """Store a new cron of the current owner."""
        await self._db.execute(
            f"INSERT INTO crons ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                cron.cron_id,
                cron.assistant_id,
                cron.thread_id,
                current_owner(),
                *self._changeable(cron),
                self._time(cron.created_at),
                self._time(cron.updated_at),
            ),
        )

    async def get(self, cron_id: str) -> CronRecord | None:
        visible, visible_args = visible_rows(self._sql, "crons")
        row = await self._db.fetch_one(
            f"SELECT {_COLUMNS} FROM crons WHERE cron_id = ? AND {visible}",
            (cron_id, *visible_args),
        )
        return self._record(row) if row else None

    async def change(
        self, cron_id: str, edit: Callable[[CronRecord], CronRecord]
    ) -> CronRecord | None:
        """Replace the cron with `edit(cron)`, reading and writing it in one transaction (so a
        claim in between is not undone); None if the current owner has no such cron. If `edit`
        raises, nothing is written."""
        visible, visible_args = visible_rows(self._sql, "crons")
        async with self._db.transaction() as tx:
            row = await tx.fetch_one(
                f"SELECT {_COLUMNS} FROM crons WHERE cron_id = ? AND {visible}"
                f"{self._sql.for_update}",
                (cron_id, *visible_args),
            )
            if row is None:
                return None
            cron = edit(self._record(row))
            await tx.execute(
                "UPDATE crons SET schedule = ?, timezone = ?, end_time = ?, next_run_date = ?, "
                "payload = ?, metadata = ?, on_run_completed = ?, enabled = ?, updated_at = ? "
                "WHERE cron_id = ?",
                (*self._changeable(cron), self._time(cron.updated_at), cron_id),
            )
        return cron

    def _changeable(self, cron: CronRecord) -> tuple[Any, ...]:
        """The values of the columns an update may change, in `_COLUMNS` order, from schedule
        to enabled."""
        time, json = self._time, self._sql.json
        return (
            cron.schedule,
            cron.timezone,
            None if cron.end_time is None else time(cron.end_time),
            None if cron.next_run_date is None else time(cron.next_run_date),
            json(cron.payload),
            json(cron.metadata),
            cron.on_run_completed,
            cron.enabled,
        )

    async def delete(self, cron_id: str) -> bool:
        """Delete the cron; False if the current owner has none with this id."""
        visible, visible_args = visible_rows(self._sql, "crons")
        deleted = await self._db.execute(
            f"DELETE FROM crons WHERE cron_id = ? AND {visible}", (cron_id, *visible_args)
        )
        return deleted > 0

    async def search(self, query: CronQuery) -> list[CronRecord]:
        where, params = self._where(query)
        rows = await self._db.fetch_all(
            f"SELECT {_COLUMNS} FROM crons {where} {self._order_by(query)} LIMIT ? OFFSET ?",
            (*params, query.limit, query.offset),
        )
        return [self._record(row) for row in rows]

    async def count(self, query: CronQuery) -> int:
        where, params = self._where(query)
        row = await self._db.fetch_one(f"SELECT COUNT(*) AS n FROM crons {where}", params)
        return int(row["n"]) if row else 0

    async def due(self, now: datetime) -> list[CronRecord]:
        """Enabled crons of every owner whose next run is at or before `now` and whose end time
        (if any) has not passed; the earliest first, at most `DUE_BATCH`."""
        time = self._time(now)
        rows = await self._db.fetch_all(
            f"SELECT {_COLUMNS} FROM crons WHERE enabled = ? AND next_run_date <= ? "
            "AND (end_time IS NULL OR end_time > ?) ORDER BY next_run_date LIMIT ?",
            (True, time, time, DUE_BATCH),
        )
        return [self._record(row) for row in rows]

    async def claim(self, cron: CronRecord, next_run_date: datetime | None) -> bool:
        """Move a due cron (as `due` read it) on to `next_run_date`; True for the one caller,
        of all the replicas that read it, whose UPDATE found it unmoved: that one fires it."""
        if cron.next_run_date is None:
            return False
        time = self._time
        claimed = await self._db.execute(
            "UPDATE crons SET next_run_date = ? WHERE cron_id = ? AND next_run_date = ?",
            (
                None if next_run_date is None else time(next_run_date),
                cron.cron_id,
                time(cron.next_run_date),
            ),
        )
        return claimed == 1

    async def next_due(self, now: datetime) -> datetime | None:
        """The earliest next run of the enabled crons that have not ended by `now`."""
        row = await self._db.fetch_one(
            "SELECT MIN(next_run_date) AS next FROM crons WHERE enabled = ? "
            "AND (end_time IS NULL OR end_time > ?)",
            (True, self._time(now)),
        )
        return None if row is None or row["next"] is None else self._read_time(row["next"])

    def _where(self, query: CronQuery) -> tuple[str, list[Any]]:
        visible, visible_args = visible_rows(self._sql, "crons")
        clauses: list[str] = [visible]
        params: list[Any] = [*visible_args]
        for column, wanted in (
            ("assistant_id", query.assistant_id),
            ("thread_id", query.thread_id),
            ("enabled", query.enabled),
        ):
            if wanted is not None:
                clauses.append(f"{column} = ?")
                params.append(wanted)
        for key, value in (query.metadata or {}).items():
            clauses.append(self._sql.json_field_equals("metadata"))
            params.extend([self._sql.json_key(key), self._sql.json(value)])
        return f"WHERE {' AND '.join(clauses)}", params

    @staticmethod
    def _order_by(query: CronQuery) -> str:
        column = _SORT_COLUMNS[query.sort_by]
        order = "DESC" if query.sort_order == "desc" else "ASC"
        # NULL first in ascending order, last in descending, whatever the database's default.
        nulls = f"({column} IS NULL) {'ASC' if order == 'DESC' else 'DESC'}, "
        return f"ORDER BY {nulls if column in _NULLABLE else ''}{column} {order}, cron_id {order}"

    def _time(self, moment: datetime) -> Any:
        # In UTC always: SQLite compares times as text, which orders them only in one zone.
        return self._sql.time(moment.astimezone(UTC))

    def _read_time(self, value: Any) -> datetime:
        return self._sql.read_time(value).astimezone(UTC)

    def _record(self, row: Row) -> CronRecord:
        read_json, read_time = self._sql.read_json, self._read_time
        return CronRecord(
            cron_id=row["cron_id"],
            assistant_id=row["assistant_id"],
            thread_id=row["thread_id"],
            schedule=row["schedule"],
            timezone=row["timezone"],
            end_time=None if row["end_time"] is None else read_time(row["end_time"]),
            next_run_date=(
                None if row["next_run_date"] is None else read_time(row["next_run_date"])
            ),
            payload=read_json(row["payload"]),
            metadata=read_json(row["metadata"]),
            on_run_completed=row["on_run_completed"],
            enabled=bool(row["enabled"]),
            created_at=read_time(row["created_at"]),
            updated_at=read_time(row["updated_at"]),
            owned_by=row["owned_by"],
        )
