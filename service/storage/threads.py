"""The thread table: create, read, search, delete, and record where runs left each thread."""

from __future__ import annotations

from typing import Any

import aiosqlite

from service.json_codec import dumps, loads
from service.storage.records import ThreadQuery, ThreadRecord, ThreadStatus, utc_now
from service.storage.sqlite import Database, from_text, to_text

_COLUMNS = (
    "thread_id, created_at, updated_at, state_updated_at, metadata, status, state_values, "
    "interrupts, error"
)
# sort_by reaches SQL only through this table, never as request text.
_SORT_COLUMNS = {
    "thread_id": "thread_id",
    "status": "status",
    "created_at": "created_at",
    "updated_at": "updated_at",
    "state_updated_at": "state_updated_at",
}


class SqliteThreads:
    """Thread rows in the service's SQLite database."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def create(self, thread_id: str, metadata: dict[str, Any]) -> ThreadRecord | None:
        """Insert a new idle thread; None if the id is taken."""
        now = to_text(utc_now())
        inserted = await self._db.write(
            "INSERT INTO threads (thread_id, created_at, updated_at, state_updated_at, metadata) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT (thread_id) DO NOTHING",
            (thread_id, now, now, now, _json(metadata)),
        )
        return await self.get(thread_id) if inserted else None

    async def get(self, thread_id: str) -> ThreadRecord | None:
        row = await self._db.fetch_one(
            f"SELECT {_COLUMNS} FROM threads WHERE thread_id = ?", (thread_id,)
        )
        return _record(row) if row else None

    async def search(self, query: ThreadQuery) -> list[ThreadRecord]:
        where, params = _where(query)
        order = "DESC" if query.sort_order == "desc" else "ASC"
        rows = await self._db.fetch_all(
            f"SELECT {_COLUMNS} FROM threads {where} "
            f"ORDER BY {_SORT_COLUMNS[query.sort_by]} {order}, thread_id {order} "
            "LIMIT ? OFFSET ?",
            (*params, query.limit, query.offset),
        )
        return [_record(row) for row in rows]

    async def count(self, query: ThreadQuery) -> int:
        where, params = _where(query)
        row = await self._db.fetch_one(f"SELECT COUNT(*) FROM threads {where}", params)
        return int(row[0]) if row else 0

    async def delete(self, thread_id: str) -> bool:
        """Delete the thread and (by cascade) its runs; False if there was none."""
        return await self._db.write("DELETE FROM threads WHERE thread_id = ?", (thread_id,)) > 0

    async def merge_metadata(self, thread_id: str, patch: dict[str, Any]) -> None:
        """Merge `patch` into the thread's metadata (keys set to null are removed)."""
        await self._db.write(
            "UPDATE threads SET metadata = json_patch(metadata, ?), updated_at = ? "
            "WHERE thread_id = ?",
            (_json(patch), to_text(utc_now()), thread_id),
        )

    async def set_status(self, thread_id: str, status: ThreadStatus) -> None:
        await self._db.write(
            "UPDATE threads SET status = ?, updated_at = ? WHERE thread_id = ?",
            (status, to_text(utc_now()), thread_id),
        )

    async def save_state(
        self,
        thread_id: str,
        *,
        status: ThreadStatus,
        error: dict[str, Any] | None,
        values: Any = None,
        interrupts: dict[str, list[Any]] | None = None,
    ) -> None:
        """Record where a run left the thread: its status and error, and (unless None, which
        keeps the stored ones) its latest values and pending interrupts."""
        now = to_text(utc_now())
        await self._db.write(
            "UPDATE threads SET status = ?, error = ?, "
            "state_values = COALESCE(?, state_values), interrupts = COALESCE(?, interrupts), "
            "updated_at = ?, state_updated_at = ? WHERE thread_id = ?",
            (
                status,
                None if error is None else _json(error),
                None if values is None else _json(values),
                None if interrupts is None else _json(interrupts),
                now,
                now,
                thread_id,
            ),
        )

    async def ids_with_status(self, status: ThreadStatus) -> list[str]:
        rows = await self._db.fetch_all("SELECT thread_id FROM threads WHERE status = ?", (status,))
        return [row[0] for row in rows]


def _json(value: Any) -> str:
    return dumps(value).decode()


def _where(query: ThreadQuery) -> tuple[str, list[Any]]:
    clauses: list[str] = []
    params: list[Any] = []
    if query.ids:
        clauses.append(f"thread_id IN ({', '.join('?' * len(query.ids))})")
        params.extend(query.ids)
    if query.status:
        clauses.append("status = ?")
        params.append(query.status)
    for column, wanted in (("metadata", query.metadata), ("state_values", query.values)):
        for key, value in (wanted or {}).items():
            # json_extract on both sides compares scalars as SQL values and objects as JSON text.
            clauses.append(f"json_extract({column}, ?) IS json_extract(?, '$')")
            params.extend([_json_path(key), _json(value)])
    return (f"WHERE {' AND '.join(clauses)}" if clauses else ""), params


def _json_path(key: str) -> str:
    escaped = key.replace("\\", "\\\\").replace('"', '\\"')
    return f'$."{escaped}"'


def _record(row: aiosqlite.Row) -> ThreadRecord:
    return ThreadRecord(
        thread_id=row["thread_id"],
        created_at=from_text(row["created_at"]),
        updated_at=from_text(row["updated_at"]),
        state_updated_at=from_text(row["state_updated_at"]),
        metadata=loads(row["metadata"]),
        status=row["status"],
        values=None if row["state_values"] is None else loads(row["state_values"]),
        interrupts=loads(row["interrupts"]),
        error=None if row["error"] is None else loads(row["error"]),
    )
