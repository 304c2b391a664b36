"""The thread table: create, read, search, delete, and record where runs left each thread.

Reads, searches, changes of metadata and deletes see only the current owner's threads (see
`service.storage.owners`); what runs record about a thread they ran on is written as is.
A thread's time-to-live is kept beside it (`ttls`, see `service.storage.thread_ttls`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from threadloom.service.storage.database import Database, Queries, Row
from threadloom.service.storage.owners import current_owner, policy_filter, visible_rows
from threadloom.service.storage.policy_filters import stamped
from threadloom.service.storage.records import ThreadQuery, ThreadRecord, ThreadStatus, utc_now
from threadloom.service.storage.thread_ttls import ThreadTtl, ThreadTtls

_COLUMNS = (
    "thread_id, created_at, updated_at, state_updated_at, metadata, status, state_values, "
    "interrupts, error"
)
# A run still to end: pending (queued) or running.
_UNFINISHED = "('pending', 'running')"
# sort_by reaches SQL only through this table, never as request text.
_SORT_COLUMNS = {
    "thread_id": "thread_id",
    "status": "status",
    "created_at": "created_at",
    "updated_at": "updated_at",
    "state_updated_at": "state_updated_at",
}


@dataclass(frozen=True, slots=True)
class LockedThread:
    """A thread locked to admit a run on it: its metadata, whether a run is pending or running
    on it, and whether it has a time-to-live to renew."""

    metadata: dict[str, Any]
    busy: bool
    has_ttl: bool


class Threads:
    """Thread rows, in SQLite or PostgreSQL."""

    def __init__(self, db: Database, default_ttl: ThreadTtl | None = None) -> None:
        self._db = db
        self._sql = db.dialect
        self._default_ttl = default_ttl
        self.ttls = ThreadTtls(db)

    async def create(
        self, thread_id: str, metadata: dict[str, Any], ttl: ThreadTtl | None = None
    ) -> ThreadRecord | None:
        """Insert a new idle thread of the current owner, its metadata stamped with the auth
        policy's filter, with `ttl` (or the default TTL, if one is configured); None if the id
        is taken."""
        async with self._db.transaction() as tx:
            return await self.insert(thread_id, metadata, tx, ttl)

    async def insert(
        self,
        thread_id: str,
        metadata: dict[str, Any],
        tx: Queries,
        ttl: ThreadTtl | None = None,
    ) -> ThreadRecord | None:
        """`create`, as part of the transaction `tx`."""
        metadata = stamped(metadata, policy_filter("threads"))
        moment = utc_now()
        now = self._sql.time(moment)
        ttl = ttl or self._default_ttl
        row = await tx.fetch_one(
            "INSERT INTO threads "
            "(thread_id, created_at, updated_at, state_updated_at, metadata, owned_by) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (thread_id) DO NOTHING "
            f"RETURNING {_COLUMNS}",
            (thread_id, now, now, now, self._sql.json(metadata), current_owner()),
        )
        if row is not None and ttl is not None:
            await self.ttls.set(thread_id, ttl, moment.timestamp(), tx)
        return self._record(row) if row else None

    async def lock(self, thread_id: str, tx: Queries) -> LockedThread | None:
        """Within `tx`: the thread, if the current owner may see it, its row locked (on
        PostgreSQL) until `tx` ends, so that runs on one thread are admitted one after the
        other, on every replica. One statement: what admitting a run needs to know first."""
        visible, visible_args = visible_rows(self._sql, "threads")
        row = await tx.fetch_one(
            "SELECT metadata, EXISTS (SELECT 1 FROM runs WHERE runs.thread_id = threads.thread_id "
            f"AND runs.status IN {_UNFINISHED}) AS busy, "
            "EXISTS (SELECT 1 FROM thread_ttls WHERE thread_ttls.thread_id = threads.thread_id) "
            f"AS has_ttl FROM threads WHERE thread_id = ? AND {visible}{self._sql.for_update}",
            (thread_id, *visible_args),
        )
        if row is None:
            return None
        return LockedThread(
            self._sql.read_json(row["metadata"]), bool(row["busy"]), bool(row["has_ttl"])
        )

    async def mark_busy(
        self, thread_id: str, metadata: dict[str, Any], patch: dict[str, Any], tx: Queries
    ) -> dict[str, Any]:
        """Within `tx`: a run was admitted on the thread, whose metadata was `metadata` and
        gets the keys of `patch`; returns the metadata now stored."""
        merged = _merged(metadata, patch)
        await tx.execute(
            "UPDATE threads SET metadata = ?, status = 'busy', updated_at = ? WHERE thread_id = ?",
            (self._sql.json(merged), self._sql.time(utc_now()), thread_id),
        )
        return merged

    async def get(self, thread_id: str) -> ThreadRecord | None:
        visible, visible_args = visible_rows(self._sql, "threads")
        row = await self._db.fetch_one(
            f"SELECT {_COLUMNS} FROM threads WHERE thread_id = ? AND {visible}",
            (thread_id, *visible_args),
        )
        return self._record(row) if row else None

    async def hidden(self, thread_id: str) -> bool:
        """Whether the thread exists but belongs to an owner other than the current one."""
        owner = current_owner()
        if owner is None:
            return False
        row = await self._db.fetch_one(
            "SELECT owned_by FROM threads WHERE thread_id = ?", (thread_id,)
        )
        return row is not None and row["owned_by"] != owner

    async def search(self, query: ThreadQuery) -> list[ThreadRecord]:
        where, params = self._where(query)
        order = "DESC" if query.sort_order == "desc" else "ASC"
        rows = await self._db.fetch_all(
            f"SELECT {_COLUMNS} FROM threads {where} "
            f"ORDER BY {_SORT_COLUMNS[query.sort_by]} {order}, thread_id {order} "
            "LIMIT ? OFFSET ?",
            (*params, query.limit, query.offset),
        )
        return [self._record(row) for row in rows]

    async def count(self, query: ThreadQuery) -> int:
        where, params = self._where(query)
        row = await self._db.fetch_one(f"SELECT COUNT(*) AS n FROM threads {where}", params)
        return int(row["n"]) if row else 0

    async def delete(self, thread_id: str) -> bool:
        """Delete the thread and (by cascade) its runs; False if there was none."""
        visible, visible_args = visible_rows(self._sql, "threads")
        deleted = await self._db.execute(
            f"DELETE FROM threads WHERE thread_id = ? AND {visible}", (thread_id, *visible_args)
        )
        return deleted > 0

    async def merge_metadata(self, thread_id: str, patch: dict[str, Any]) -> None:
        """Set the keys of `patch` in the thread's metadata (keys set to None are removed)."""
        visible, visible_args = visible_rows(self._sql, "threads")
        async with self._db.transaction() as tx:
            row = await tx.fetch_one(
                f"SELECT metadata FROM threads WHERE thread_id = ? AND {visible}"
                f"{self._sql.for_update}",
                (thread_id, *visible_args),
            )
            if row is None:
                return
            merged = _merged(self._sql.read_json(row["metadata"]), patch)
            await tx.execute(
                "UPDATE threads SET metadata = ?, updated_at = ? WHERE thread_id = ?",
                (self._sql.json(merged), self._sql.time(utc_now()), thread_id),
            )

    async def save_state(
        self,
        thread_id: str,
        *,
        status: ThreadStatus,
        error: dict[str, Any] | None,
        values: Any = None,
        interrupts: dict[str, list[Any]] | None = None,
        besides: str | None = None,
        tx: Queries | None = None,
    ) -> None:
        """Record where a run left the thread: `busy` while a run on it (other than `besides`,
        the one ending) is pending or running, else `status`; its error; and (unless None,
        which keeps the stored ones) its latest values and pending interrupts."""
        now = self._sql.time(utc_now())
        json = self._sql.json
        await (tx or self._db).execute(
            "UPDATE threads SET status = CASE WHEN EXISTS ("
            "SELECT 1 FROM runs WHERE runs.thread_id = threads.thread_id "
            f"AND runs.status IN {_UNFINISHED} AND runs.run_id <> ?) "
            "THEN 'busy' ELSE ? END, error = ?, "
            "state_values = COALESCE(?, state_values), interrupts = COALESCE(?, interrupts), "
            "updated_at = ?, state_updated_at = ? WHERE thread_id = ?",
            (
                besides or "",
                status,
                None if error is None else json(error),
                None if values is None else json(values),
                None if interrupts is None else json(interrupts),
                now,
                now,
                thread_id,
            ),
        )

    async def stale_busy_ids(self) -> list[str]:
        """Threads marked busy although none of their runs is pending or running any more (the
        process that ran them stopped before it could record how they ended)."""
        rows = await self._db.fetch_all(
            "SELECT thread_id FROM threads WHERE status = 'busy' AND NOT EXISTS ("
            "SELECT 1 FROM runs WHERE runs.thread_id = threads.thread_id "
            f"AND runs.status IN {_UNFINISHED})"
        )
        return [row["thread_id"] for row in rows]

    def _where(self, query: ThreadQuery) -> tuple[str, list[Any]]:
        visible, visible_args = visible_rows(self._sql, "threads")
        clauses: list[str] = [visible]
        params: list[Any] = [*visible_args]
        if query.ids:
            clauses.append(f"thread_id IN ({', '.join('?' * len(query.ids))})")
            params.extend(query.ids)
        if query.status:
            clauses.append("status = ?")
            params.append(query.status)
        for column, wanted in (("metadata", query.metadata), ("state_values", query.values)):
            for key, value in (wanted or {}).items():
                clauses.append(self._sql.json_field_equals(column))
                params.extend([self._sql.json_key(key), self._sql.json(value)])
        return f"WHERE {' AND '.join(clauses)}", params

    def _record(self, row: Row) -> ThreadRecord:
        read_json, read_time = self._sql.read_json, self._sql.read_time
        return ThreadRecord(
            thread_id=row["thread_id"],
            created_at=read_time(row["created_at"]),
            updated_at=read_time(row["updated_at"]),
            state_updated_at=read_time(row["state_updated_at"]),
            metadata=read_json(row["metadata"]),
            status=row["status"],
            values=None if row["state_values"] is None else read_json(row["state_values"]),
            interrupts=read_json(row["interrupts"]),
            error=None if row["error"] is None else read_json(row["error"]),
        )


def _merged(metadata: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """`metadata` with the keys of `patch` set (those set to None removed); the policy's filter
    stays stamped, so a patch cannot hand the thread to another user."""
    merged = stamped({**metadata, **patch}, policy_filter("threads"))
    return {key: value for key, value in merged.items() if value is not None}
