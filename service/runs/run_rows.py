"""Two statements on the run table that `service.storage.runs.Runs` does not offer (yet):
deleting a run's row (its stored events go with it, by cascade), and finding the unfinished
runs of every thread."""

from __future__ import annotations

from collections.abc import Sequence

from threadloom.service.storage.database import Database
from threadloom.service.storage.records import RunStatus


async def delete_run_row(db: Database, thread_id: str, run_id: str) -> bool:
    """Delete the run; False if the thread has no such run."""
    deleted = await db.execute(
        "DELETE FROM runs WHERE thread_id = ? AND run_id = ?", (thread_id, run_id)
    )
    return deleted > 0


async def runs_with_status(db: Database, statuses: Sequence[RunStatus]) -> list[tuple[str, str]]:
    """`(thread_id, run_id)` of every run, on any thread, with one of `statuses`."""
    marks = ", ".join("?" * len(statuses))
    rows = await db.fetch_all(
        f"SELECT thread_id, run_id FROM runs WHERE status IN ({marks})", tuple(statuses)
    )
    return [(row["thread_id"], row["run_id"]) for row in rows]
