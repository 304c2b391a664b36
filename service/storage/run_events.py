"""The run event log table: every SSE event of a run, numbered from 0, and whether it is complete.

Stored so that a stream can be rejoined after `Last-Event-ID` once the run has left this
process's memory, and so that a replica can follow a run another replica is executing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta
from typing import Literal

from threadloom.service.storage.database import Database, Queries
from threadloom.service.storage.records import RunEvent, utc_now

# How many events one read returns at most, so a long log is read in bounded pieces.
READ_BATCH = 500

Appended = Literal["stored", "gone", "taken"]
"""What became of an append: stored; refused because the run is gone (deleted with its thread);
refused because another replica took the run over (this one looked stopped)."""


class RunEventStore:
    """Rows of `run_events`, and the `log_closed` flag of their run, written on behalf of replica
    `owner`: only the replica that holds a run adds to its log."""

    def __init__(self, db: Database, *, owner: str) -> None:
        self._db = db
        self._sql = db.dialect
        self._owner = owner

    async def append(
        self,
        run_id: str,
        first_index: int,
        events: Sequence[RunEvent],
        *,
        close: bool,
        also: Callable[[Queries], Awaitable[None]] | None = None,
    ) -> Appended:
        """`append_in` a transaction of its own, to which `also` (if given) adds statements."""
        async with self._db.transaction() as tx:
            appended = await self.append_in(tx, run_id, first_index, events, close=close)
            if appended == "stored" and also is not None:
                await also(tx)
        return appended

    async def append_in(
        self,
        tx: Queries,
        run_id: str,
        first_index: int,
        events: Sequence[RunEvent],
        *,
        close: bool,
    ) -> Appended:
        """Within `tx`: store `events` as numbers `first_index`, `first_index + 1`, ...; with
        `close`, mark the log complete. Storing the same events again changes nothing. Refused
        if the run is gone, or if another replica took it over: that one numbers the run's
        further events after the stored ones, so these must never be stored under them."""
        # Locked: a takeover (which locks the row too) and this append follow each other.
        row = await tx.fetch_one(
            f"SELECT owner FROM runs WHERE run_id = ?{self._sql.for_update}", (run_id,)
        )
        if row is None:
            return "gone"
        if row["owner"] != self._owner:
            return "taken"
        await self.insert_in(tx, run_id, first_index, events)
        if close:
            await tx.execute("UPDATE runs SET log_closed = ? WHERE run_id = ?", (True, run_id))
        return "stored"

    async def insert_in(
        self, tx: Queries, run_id: str, first_index: int, events: Sequence[RunEvent]
    ) -> None:
        """`append_in` for a run known to exist (its row written in `tx`), not closing."""
        if events:
            await tx.execute_many(
                "INSERT INTO run_events (run_id, seq, name, data) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (run_id, seq) DO NOTHING",
                [
                    (run_id, first_index + offset, event.name, event.data)
                    for offset, event in enumerate(events)
                ],
            )

    async def close_with(self, run_id: str, event: RunEvent) -> None:
        """Append `event` after whatever is stored and mark the log complete: how a replica ends
        the log of a run whose owner stopped."""
        async with self._db.transaction() as tx:
            row = await tx.fetch_one(
                "SELECT COUNT(*) AS n FROM run_events WHERE run_id = ?", (run_id,)
            )
            await tx.execute(
                "INSERT INTO run_events (run_id, seq, name, data) VALUES (?, ?, ?, ?)",
                (run_id, row["n"] if row else 0, event.name, event.data),
            )
            await tx.execute("UPDATE runs SET log_closed = ? WHERE run_id = ?", (True, run_id))

    async def read(self, run_id: str, start: int) -> list[RunEvent]:
        """Up to `READ_BATCH` events from number `start` on, in order."""
        rows = await self._db.fetch_all(
            "SELECT name, data FROM run_events WHERE run_id = ? AND seq >= ? ORDER BY seq LIMIT ?",
            (run_id, start, READ_BATCH),
        )
        return [RunEvent(row["name"], bytes(row["data"])) for row in rows]

    async def count(self, run_id: str) -> int:
        row = await self._db.fetch_one(
            "SELECT COUNT(*) AS n FROM run_events WHERE run_id = ?", (run_id,)
        )
        return int(row["n"]) if row else 0

    async def is_complete(self, run_id: str) -> bool:
        """No more events will come: the log was closed, the run is gone, or it ended and its
        owner's lease ran out before the owner could close the log (it stopped)."""
        row = await self._db.fetch_one(
            "SELECT log_closed, status, lease_expires_at FROM runs WHERE run_id = ?", (run_id,)
        )
        if row is None or row["log_closed"]:
            return True
        expires = row["lease_expires_at"]
        return row["status"] not in ("pending", "running") and (
            expires is None or self._sql.read_time(expires) < utc_now()
        )

    async def delete_older_than(self, age_s: float) -> int:
        """Forget the events of runs whose log closed more than `age_s` seconds ago."""
        cutoff = self._sql.time(utc_now() - timedelta(seconds=age_s))
        return await self._db.execute(
            "DELETE FROM run_events WHERE run_id IN ("
            "SELECT run_id FROM runs WHERE log_closed = ? AND updated_at < ?)",
            (True, cutoff),
        )
