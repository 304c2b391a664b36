"""Deleting a run's row (its stored events go with it, by cascade).

The run table is `service.storage.runs.Runs`; this one statement lives apart until that class
offers a `delete`.
"""

from __future__ import annotations

from service.storage.database import Database


async def delete_run_row(db: Database, thread_id: str, run_id: str) -> bool:
    """Delete the run; False if the thread has no such run."""
    deleted = await db.execute(
        "DELETE FROM runs WHERE thread_id = ? AND run_id = ?", (thread_id, run_id)
    )
    return deleted > 0
