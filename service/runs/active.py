"""The runs this process executes: each one's events and tasks, and the registry of them.

A run lives in its own asyncio task, not in the request that started it: a client that drops
its stream does not stop the run unless it asked for `on_disconnect: cancel`. Cancelling a run
cancels that task, which reaches the model's generation wherever it is awaiting.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

from threadloom.service.runs.events import EventLog, EventLogs
from threadloom.service.runs.executor import RunOutcome
from threadloom.service.runs.queue import RunQueue
from threadloom.service.runs.spec import RunSpec
from threadloom.service.runs.stored_run import RemoteRun
from threadloom.service.storage.database import Database
from threadloom.service.storage.records import RunRecord, RunStatus
from threadloom.service.storage.runs import Runs
from threadloom.service.storage.threads import Threads

CancelAction = Literal["interrupt", "rollback"]
UNFINISHED: tuple[RunStatus, ...] = ("pending", "running")


@dataclass(frozen=True, slots=True)
class RunStores:
    """Where runs are recorded: the database, its thread and run tables, the run queue (turns
    and cancels across replicas) and the runs' event logs."""

    database: Database
    threads: Threads
    runs: Runs
    queue: RunQueue
    logs: EventLogs


@dataclass(frozen=True, eq=False)
class ActiveRun:
    """A run admitted in this process and not finished yet: its events and its tasks.

    `execution` waits for the run's turn and runs the graph; cancelling it is how the run is
    stopped. `task` awaits it and records how the run ended, so a cancel that comes late (from
    a lease renewal, say) cannot cut that record short.
    """

    spec: RunSpec
    log: EventLog
    execution: asyncio.Task[RunOutcome]
    task: asyncio.Task[RunOutcome]
    # The run's row as it was admitted (what `POST .../runs` answers with).
    record: RunRecord

    @property
    def run_id(self) -> str:
        return self.spec.run_id

    @property
    def thread_id(self) -> str:
        return self.spec.thread_id

    async def outcome(self) -> RunOutcome:
        """Wait for the run to end; the waiter being cancelled does not cancel the run."""
        return await asyncio.shield(self.task)

    def cancel(self) -> None:
        self.execution.cancel()


class ActiveRuns:
    """Every active run of this process, by id; runs elsewhere are reached through the
    run table (`RunQueue`)."""

    def __init__(self, stores: RunStores) -> None:
        self._queue = stores.queue
        self._runs = stores.runs
        self._logs = stores.logs
        self._threads = stores.threads
        self._active: dict[str, ActiveRun] = {}

    def __iter__(self) -> Iterator[ActiveRun]:
        return iter(list(self._active.values()))

    def get(self, run_id: str) -> ActiveRun | None:
        return self._active.get(run_id)

    def add(self, run: ActiveRun) -> ActiveRun:
        self._active[run.run_id] = run
        return run

    def discard(self, run_id: str) -> None:
        self._active.pop(run_id, None)

    async def find(self, thread_id: str, run_id: str) -> ActiveRun | RemoteRun | None:
        """The run as executed here, or as stored (another replica runs it, or it ended)."""
        if (active := self._active.get(run_id)) and active.thread_id == thread_id:
            return active
        if await self._runs.get(thread_id, run_id) is None:
            return None
        return RemoteRun(thread_id, run_id, self._logs.stored(run_id), self._queue, self._threads)

    async def wait_ended(self, thread_id: str, run_id: str) -> RunRecord | None:
        """Wait until the run (here or on another replica) has ended; its record, or None."""
        if (active := self._active.get(run_id)) and active.thread_id == thread_id:
            await asyncio.gather(active.outcome(), return_exceptions=True)
        return await self._queue.wait_ended(thread_id, run_id)

    async def stop(self, thread_id: str, run_ids: list[str]) -> None:
        """Cancel the runs: at once if they run here, through the run table if elsewhere."""
        for run_id in run_ids:
            if (active := self._active.get(run_id)) is not None:
                active.cancel()
        await self._queue.cancel(thread_id, run_ids)

    async def unfinished(self, thread_id: str) -> list[str]:
        """The ids of the thread's pending and running runs (here or elsewhere)."""
        found: list[str] = []
        for status in UNFINISHED:
            runs = await self._runs.list(thread_id, limit=1000, offset=0, status=status)
            found += [run.run_id for run in runs]
        return found
