"""A run seen from a replica that does not execute it (another replica does, or it has ended):
its stored events, its end, and a cancel request. Joins and cancels work from any replica."""

from __future__ import annotations

from typing import Any

from threadloom.service.runs.events import StoredEventLog
from threadloom.service.runs.executor import RunOutcome
from threadloom.service.runs.queue import RunQueue
from threadloom.service.storage.records import ThreadRecord
from threadloom.service.storage.threads import Threads


class RemoteRun:
    """The same face as `ActiveRun` (`log`, `outcome`, `cancel`), backed by the database."""

    def __init__(
        self,
        thread_id: str,
        run_id: str,
        log: StoredEventLog,
        queue: RunQueue,
        threads: Threads,
    ) -> None:
        self.thread_id = thread_id
        self.run_id = run_id
        self.log = log
        self._queue = queue
        self._threads = threads

    async def outcome(self) -> RunOutcome:
        """Wait for the run to end; its result is the thread's state as the run left it."""
        record = await self._queue.wait_ended(self.thread_id, self.run_id)
        thread = await self._threads.get(self.thread_id)
        status = record.status if record is not None else "error"
        return RunOutcome(status, thread_result(thread) if thread else {})

    def cancel(self) -> None:
        """Ask the replica executing the run to cancel it."""
        self._queue.cancel_soon(self.thread_id, [self.run_id])


def thread_result(thread: ThreadRecord) -> Any:
    """What a `wait` for the thread's last run answers: its values, with `__interrupt__` when it
    waits for a human, or `__error__` when the run failed."""
    if thread.status == "error" and thread.error:
        return {"__error__": thread.error}
    interrupts = [item for items in thread.interrupts.values() for item in items]
    if thread.status == "interrupted" and interrupts:
        return {**(thread.values or {}), "__interrupt__": interrupts}
    return thread.values or {}
