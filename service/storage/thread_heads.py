"""The newest run of many threads at once: what the thread watcher polls (`service.threads.watch`).

One statement reads `CHUNK` threads, so a poll of every thread a replica's streams follow costs
a few statements, not one or two per thread.

It reads without the owner's condition (`service.storage.owners`): the watcher serves the
streams of every owner at once, and it only tells them when to look again. Each stream's route
has found its thread visible before following it, and each stream reads the runs themselves as
its own owner.
"""

from __future__ import annotations

from collections.abc import Sequence

from threadloom.service.storage.database import Database

# Thread ids per statement: far below SQLite's oldest limit of 999 parameters.
CHUNK = 500


class ThreadHeads:
    """The newest run of each of many threads, read `chunk` threads per statement."""

    def __init__(self, db: Database, *, chunk: int = CHUNK) -> None:
        self._db = db
        self._chunk = chunk

    async def newest_runs(self, thread_ids: Sequence[str]) -> dict[str, str | None]:
        """The id of each thread's newest run (None while it has none); a thread that does
        not exist (deleted) is absent."""
        newest: dict[str, str | None] = {}
        for start in range(0, len(thread_ids), self._chunk):
            chunk = thread_ids[start : start + self._chunk]
            marks = ", ".join("?" * len(chunk))
            # Newest as `Runs.list` orders them; served by the index on (thread_id, created_at).
            rows = await self._db.fetch_all(
                "SELECT thread_id, (SELECT run_id FROM runs "
                "WHERE runs.thread_id = threads.thread_id "
                "ORDER BY created_at DESC, run_id DESC LIMIT 1) AS newest_run "
                f"FROM threads WHERE thread_id IN ({marks})",
                chunk,
            )
            newest.update((row["thread_id"], row["newest_run"]) for row in rows)
        return newest
