"""Stopping runs: cancel one or many, roll a run back (delete it and what it wrote), delete a
run or a whole thread, and stop a deleted assistant's runs."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Coroutine
from typing import Any

from threadloom.service.errors import NotFound
from threadloom.service.runs.active import UNFINISHED, ActiveRuns, CancelAction
from threadloom.service.runs.executor import RunExecutor
from threadloom.service.schemas.runs import RunsCancel
from threadloom.service.storage.checkpoint_removal import delete_run_checkpoints
from threadloom.service.storage.records import ThreadQuery
from threadloom.service.storage.runs import Runs
from threadloom.service.storage.threads import Threads
from threadloom.service.threads.record import ThreadRecorder

logger = logging.getLogger(__name__)


class RunCancellation:
    """Cancels, rolls back and deletes runs, here or on another replica."""

    def __init__(
        self,
        active: ActiveRuns,
        executor: RunExecutor,
        threads: Threads,
        runs: Runs,
        thread_record: ThreadRecorder,
    ) -> None:
        self._active = active
        self._executor = executor
        self._threads = threads
        self._runs = runs
        self._thread_record = thread_record
        self._background: set[asyncio.Task[None]] = set()

    async def cancel(
        self, thread_id: str, run_id: str, *, action: CancelAction = "interrupt", wait: bool
    ) -> None:
        """Stop a pending or running run; `rollback` also deletes it and what it wrote, so the
        thread is as it was before. With `wait`, return once that is done."""
        record = await self._runs.get(thread_id, run_id)
        if record is None or record.status not in UNFINISHED:
            raise NotFound(
                "No matching runs to cancel. Check the thread and run IDs; the run may have "
                "finished or been deleted already."
            )
        await self._active.stop(thread_id, [run_id])
        settle = (
            self.roll_back_when_ended(thread_id, run_id)
            if action == "rollback"
            else self._active.wait_ended(thread_id, run_id)
        )
        if wait:
            await settle
        else:
            self._in_background(settle)

    async def cancel_many(self, request: RunsCancel, *, action: CancelAction) -> None:
        """Cancel the runs `request` names, on any thread; 404 if none of them is pending or
        running. Returns without waiting for them to stop."""
        if request.status is not None:
            statuses = UNFINISHED if request.status == "all" else (request.status,)
            runs = await self._runs.with_status(statuses)
        else:
            runs = [(str(request.thread_id), run_id) for run_id in request.run_ids or []]
        cancelled = 0
        for thread_id, run_id in runs:
            with contextlib.suppress(NotFound):
                await self.cancel(thread_id, run_id, action=action, wait=False)
                cancelled += 1
        if not cancelled:
            raise NotFound("No pending or running runs to cancel.")

    async def delete_run(self, thread_id: str, run_id: str) -> None:
        """Delete a run and the checkpoints it wrote; an unfinished run is rolled back."""
        record = await self._runs.get(thread_id, run_id)
        if record is None:
            raise NotFound(f"Run with ID {run_id} not found")
        if record.status in UNFINISHED:
            await self._active.stop(thread_id, [run_id])
            await self._active.wait_ended(thread_id, run_id)
        await self._roll_back(thread_id, run_id)

    async def delete_thread(self, thread_id: str) -> None:
        """Delete the thread, its runs and its checkpoints; its active runs are cancelled first."""
        unfinished = await self._active.unfinished(thread_id)
        if unfinished:
            await self._active.stop(thread_id, unfinished)
            for run_id in unfinished:
                await self._active.wait_ended(thread_id, run_id)
        await self._executor.checkpointer.adelete_thread(thread_id)
        await self._threads.delete(thread_id)

    async def forget_assistant(self, assistant_id: str, *, delete_threads: bool) -> None:
        """After an assistant is deleted: stop its runs here, and delete its threads if asked."""
        for run in self._active:
            if run.spec.assistant.assistant_id == assistant_id:
                run.cancel()
        if delete_threads:
            query = ThreadQuery(metadata={"assistant_id": assistant_id}, limit=10_000)
            for thread in await self._threads.search(query):
                await self.delete_thread(thread.thread_id)

    async def roll_back_when_ended(self, thread_id: str, run_id: str) -> None:
        """Once the run has ended: roll it back if it was interrupted."""
        record = await self._active.wait_ended(thread_id, run_id)
        # A run that finished before the cancel reached it keeps its results.
        if record is not None and record.status == "interrupted":
            await self._roll_back(thread_id, run_id)

    async def aclose(self) -> None:
        """Wait for the cancellations still finishing in the background."""
        await asyncio.gather(*self._background, return_exceptions=True)

    async def _roll_back(self, thread_id: str, run_id: str) -> None:
        """Delete the ended run and its checkpoints, and record the thread's state without it."""
        await delete_run_checkpoints(self._executor.checkpointer, thread_id, run_id)
        await self._runs.remove(thread_id, run_id)
        await self._thread_record.save(thread_id)

    def _in_background(self, work: Coroutine[Any, Any, Any]) -> None:
        """Finish `work` after the request that asked for it has been answered."""
        task = asyncio.create_task(work)
        self._background.add(task)
        task.add_done_callback(self._background_done)

    def _background_done(self, task: asyncio.Task[Any]) -> None:
        self._background.discard(task)
        if not task.cancelled() and (exc := task.exception()) is not None:
            logger.error("cancelling a run failed error=%s", type(exc).__name__, exc_info=exc)
