"""The run table: each run's request and status, and the lease that makes it the thread's one
active run across replicas.

A run row is also a lease: `owner` is the replica that queues or runs it, and renews
`lease_expires_at` while it does. A unique index allows one `running` run per thread, so taking
the turn (`claim_turn`) is a single guarded UPDATE; a replica that stops renewing (it crashed)
lets its leases expire, and another replica settles those runs (`recover_expired`).

Apart from the replica holding it, a run has the API-key owner of its thread (`owned_by`, see
`service.storage.owners`): reading, listing and deleting see only the current key owner's runs;
the lease bookkeeping, the same for every key owner's runs, does not look at `owned_by`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

from threadloom.service.errors import thread_not_found
from threadloom.service.storage.database import Database, Queries, Row
from threadloom.service.storage.owners import visible_rows
from threadloom.service.storage.records import RunRecord, RunStatus, utc_now

_COLUMNS = (
    "run_id, thread_id, assistant_id, created_at, updated_at, status, metadata, kwargs, "
    "multitask_strategy"
)
_UNFINISHED = "('pending', 'running')"
# An auth policy sees a run through its thread's metadata (see `service.storage.owners`).
_THREAD_METADATA = "(SELECT metadata FROM threads WHERE threads.thread_id = runs.thread_id)"


@dataclass(frozen=True, slots=True)
class Lease:
    """What the owner of a run learns when it renews the run's lease."""

    run_id: str
    status: RunStatus
    owner: str | None
    cancel_requested: bool

    def lost(self, owner: str) -> bool:
        """The run was taken over by another replica (or deleted) while `owner` held it."""
        return self.owner != owner


@dataclass(frozen=True, slots=True)
class Recovered:
    """A run taken over from a replica that stopped: its row as it is now (`pending`: to run
    here; `interrupted`: settled), and whether it had started there."""

    record: RunRecord
    started: bool


class Runs:
    """Run rows, in SQLite or PostgreSQL, created and renewed on behalf of replica `owner`."""

    def __init__(self, db: Database, *, owner: str, lease_ttl_s: float) -> None:
        self._db = db
        self._sql = db.dialect
        self.owner = owner
        self._ttl = timedelta(seconds=lease_ttl_s)

    async def create(self, run: RunRecord, tx: Queries | None = None) -> None:
        """Insert the run, leased to this replica and owned by its thread's owner; 404 if the
        thread is not one the current owner may see (a run never reaches another's thread)."""
        sql, json = self._sql, self._sql.json
        visible, visible_args = visible_rows(self._sql, "threads")
        inserted = await (tx or self._db).execute(
            f"INSERT INTO runs ({_COLUMNS}, owner, lease_expires_at, owned_by) "
            "SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, owned_by "
            f"FROM threads WHERE thread_id = ? AND {visible}",
            (
                run.run_id,
                run.thread_id,
                run.assistant_id,
                sql.time(run.created_at),
                sql.time(run.updated_at),
                run.status,
                json(run.metadata),
                json(run.kwargs),
                run.multitask_strategy,
                self.owner,
                self._expiry(),
                run.thread_id,
                *visible_args,
            ),
        )
        if not inserted:
            raise thread_not_found(run.thread_id)

    async def unfinished(self, thread_id: str, tx: Queries) -> list[str]:
        """Within `tx`: the thread's pending and running runs, oldest first."""
        rows = await tx.fetch_all(
            f"SELECT run_id FROM runs WHERE thread_id = ? AND status IN {_UNFINISHED} "
            "ORDER BY created_at, run_id",
            (thread_id,),
        )
        return [row["run_id"] for row in rows]

    async def set_status(
        self, run_id: str, status: RunStatus, tx: Queries | None = None
    ) -> None:
        """Record the run's status, if this replica still owns the run (a replica that looked
        stopped must not overwrite what the replica that took its run over records)."""
        await (tx or self._db).execute(
            "UPDATE runs SET status = ?, updated_at = ? WHERE run_id = ? AND owner = ?",
            (status, self._sql.time(utc_now()), run_id, self.owner),
        )

    async def get(self, thread_id: str, run_id: str) -> RunRecord | None:
        visible, visible_args = visible_rows(
            self._sql, "threads", metadata=_THREAD_METADATA
        )
        row = await self._db.fetch_one(
            f"SELECT {_COLUMNS} FROM runs WHERE thread_id = ? AND run_id = ? AND {visible}",
            (thread_id, run_id, *visible_args),
        )
        return self._record(row) if row else None

    async def list(
        self, thread_id: str, *, limit: int, offset: int, status: RunStatus | None = None
    ) -> list[RunRecord]:
        """The thread's runs, newest first."""
        visible, visible_args = visible_rows(
            self._sql, "threads", metadata=_THREAD_METADATA
        )
        status_clause = "AND status = ?" if status else ""
        params = (thread_id, *visible_args, status) if status else (thread_id, *visible_args)
        rows = await self._db.fetch_all(
            f"SELECT {_COLUMNS} FROM runs WHERE thread_id = ? AND {visible} {status_clause} "
            "ORDER BY created_at DESC, run_id DESC LIMIT ? OFFSET ?",
            (*params, limit, offset),
        )
        return [self._record(row) for row in rows]

    async def remove(self, thread_id: str, run_id: str) -> bool:
        """Delete the run whoever owns it (a rollback, which the request already checked may
        see it); its events go with it. False if the thread has no such run."""
        deleted = await self._db.execute(
            "DELETE FROM runs WHERE thread_id = ? AND run_id = ?", (thread_id, run_id)
        )
        return deleted > 0

    async def with_status(self, statuses: Sequence[RunStatus]) -> list[tuple[str, str]]:
        """`(thread_id, run_id)` of every run, on any thread, with one of `statuses`."""
        marks = ", ".join("?" * len(statuses))
        rows = await self._db.fetch_all(
            f"SELECT thread_id, run_id FROM runs WHERE status IN ({marks})", tuple(statuses)
        )
        return [(row["thread_id"], row["run_id"]) for row in rows]

    async def has_unfinished(self, thread_id: str, besides: str | None = None) -> bool:
        """Whether a run on the thread, other than `besides`, is pending or running anywhere."""
        row = await self._db.fetch_one(
            "SELECT COUNT(*) AS n FROM runs "
            f"WHERE thread_id = ? AND status IN {_UNFINISHED} AND run_id <> ?",
            (thread_id, besides or ""),
        )
        return bool(row and row["n"])

    async def claim_turn(self, run_id: str) -> bool:
        """Make the pending run `run_id` its thread's running run, if no run is running there
        and no pending run was created before it; False if it must wait."""
        try:
            changed = await self._db.execute(
                "UPDATE runs SET status = 'running', updated_at = ? "
                "WHERE run_id = ? AND owner = ? AND status = 'pending' AND NOT EXISTS ("
                "SELECT 1 FROM runs AS other WHERE other.thread_id = runs.thread_id "
                "AND other.run_id <> runs.run_id AND (other.status = 'running' OR ("
                "other.status = 'pending' AND (other.created_at < runs.created_at OR ("
                "other.created_at = runs.created_at AND other.run_id < runs.run_id)))))",
                (self._sql.time(utc_now()), run_id, self.owner),
            )
        except Exception as exc:
            # Another replica claimed the thread between our check and our write.
            if self._sql.is_unique_violation(exc):
                return False
            raise
        return changed > 0

    async def renew(self, run_ids: Sequence[str]) -> list[Lease]:
        """Extend this replica's leases on `run_ids`; returns each run's lease as now stored."""
        if not run_ids:
            return []
        marks = ", ".join("?" * len(run_ids))
        await self._db.execute(
            f"UPDATE runs SET lease_expires_at = ? WHERE owner = ? AND run_id IN ({marks}) "
            f"AND status IN {_UNFINISHED}",
            (self._expiry(), self.owner, *run_ids),
        )
        rows = await self._db.fetch_all(
            f"SELECT run_id, status, owner, cancel_requested FROM runs WHERE run_id IN ({marks})",
            tuple(run_ids),
        )
        found = {row["run_id"]: row for row in rows}
        return [
            Lease(run_id, "interrupted", None, False)  # deleted with its thread
            if (row := found.get(run_id)) is None
            else Lease(run_id, row["status"], row["owner"], bool(row["cancel_requested"]))
            for run_id in run_ids
        ]

    async def next_expiry_s(self) -> float | None:
        """Seconds until the first lease of another replica's unfinished run runs out (0 if one
        has), or None if there is none: when to look for runs to take over next."""
        row = await self._db.fetch_one(
            f"SELECT MIN(lease_expires_at) AS first FROM runs WHERE status IN {_UNFINISHED} "
            "AND owner <> ?",
            (self.owner,),
        )
        if row is None or row["first"] is None:
            return None
        return max((self._sql.read_time(row["first"]) - utc_now()).total_seconds(), 0.0)

    async def hand_over(self, run_id: str) -> bool:
        """Give up a run of this replica that has not started (the replica stops): its lease
        ends now, so another replica (or this one's next process) takes it over and starts it.
        False if it started meanwhile."""
        changed = await self._db.execute(
            "UPDATE runs SET lease_expires_at = ? "
            "WHERE run_id = ? AND owner = ? AND status = 'pending'",
            (self._sql.time(utc_now()), run_id, self.owner),
        )
        return changed > 0

    async def request_cancel(self, thread_id: str, run_ids: Sequence[str] | None = None) -> int:
        """Ask the owners of the thread's unfinished runs (or of `run_ids` among them) to cancel
        them; returns how many were asked."""
        marks = ", ".join("?" * len(run_ids)) if run_ids else ""
        return await self._db.execute(
            "UPDATE runs SET cancel_requested = ? "
            f"WHERE thread_id = ? AND status IN {_UNFINISHED}"
            + (f" AND run_id IN ({marks})" if run_ids else ""),
            (True, thread_id, *(run_ids or ())),
        )

    async def recover_expired(self, *, retry: bool, own: bool = False) -> list[Recovered]:
        """Take over the unfinished runs whose owner stopped renewing them (and, with `own`,
        those this replica's id owned in an earlier process). A run that had not started stays
        pending, now this replica's, to start in its thread's turn; a running run becomes
        pending too with `retry` (to run again), else it is interrupted. Returns them."""
        now = utc_now()
        async with self._db.transaction() as tx:
            rows = await tx.fetch_all(
                f"SELECT {_COLUMNS}, owned_by FROM runs WHERE status IN {_UNFINISHED} "
                f"AND (lease_expires_at < ? OR owner = ?){self._sql.for_update}",
                (self._sql.time(now), self.owner if own else None),
            )
            recovered = [
                Recovered(
                    replace(
                        self._record(row),
                        status="pending" if retry or row["status"] == "pending" else "interrupted",
                        owned_by=row["owned_by"],
                    ),
                    started=row["status"] == "running",
                )
                for row in rows
            ]
            for run in recovered:
                await tx.execute(
                    "UPDATE runs SET status = ?, owner = ?, lease_expires_at = ?, updated_at = ? "
                    "WHERE run_id = ?",
                    (
                        run.record.status,
                        self.owner,
                        self._expiry(),
                        self._sql.time(now),
                        run.record.run_id,
                    ),
                )
        return recovered

    def _expiry(self) -> Any:
        return self._sql.time(utc_now() + self._ttl)

    def _record(self, row: Row) -> RunRecord:
        read_json, read_time = self._sql.read_json, self._sql.read_time
        return RunRecord(
            run_id=row["run_id"],
            thread_id=row["thread_id"],
            assistant_id=row["assistant_id"],
            created_at=read_time(row["created_at"]),
            updated_at=read_time(row["updated_at"]),
            status=row["status"],
            metadata=read_json(row["metadata"]),
            kwargs=read_json(row["kwargs"]),
            multitask_strategy=row["multitask_strategy"],
        )
