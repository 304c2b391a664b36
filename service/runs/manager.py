"""Admits runs (one active per thread, by multitask strategy), runs them as tasks, settles them.

A run lives in its own asyncio task, not in the request that started it: a client that drops
its stream does not stop the run unless it asked for `on_disconnect: cancel`.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from service.assistants import Assistants
from service.errors import (
    THREAD_OR_ASSISTANT_NOT_FOUND,
    NotFound,
    NotSupported,
    RunCancelled,
    error_event,
    thread_busy,
)
from service.ids import new_id
from service.runs.events import EventLog
from service.runs.executor import RunExecutor, RunOutcome, failed
from service.runs.queue import ThreadQueue, Ticket
from service.runs.spec import RunSpec
from service.schemas.runs import RunCreate
from service.storage.records import RunRecord, ThreadStatus, utc_now
from service.storage.runs import SqliteRuns
from service.storage.threads import SqliteThreads
from service.thread_state import pending_interrupts

logger = logging.getLogger(__name__)


@dataclass(frozen=True, eq=False)
class ActiveRun:
    """A run admitted in this process and not finished yet: its events and its task."""

    spec: RunSpec
    log: EventLog
    task: asyncio.Task[RunOutcome]

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
        self.task.cancel()


class RunManager:
    """Owns every active run of this process."""

    def __init__(
        self,
        executor: RunExecutor,
        threads: SqliteThreads,
        runs: SqliteRuns,
        assistants: Assistants,
    ) -> None:
        self._executor = executor
        self._threads = threads
        self._runs = runs
        self._assistants = assistants
        self._queue = ThreadQueue()
        self._active: dict[str, ActiveRun] = {}

    async def submit(self, thread_id: str, request: RunCreate) -> ActiveRun:
        """Validate and admit a run on `thread_id`, then start it; raises before writing anything
        if the assistant, the thread or the multitask strategy does not allow it."""
        assistant = self._assistants.resolve(request.assistant_id)
        _refuse_unsupported(request)
        thread = await self._threads.get(thread_id)
        if thread is None and request.if_not_exists == "reject":
            raise NotFound(THREAD_OR_ASSISTANT_NOT_FOUND)
        if thread is None:
            await self._threads.create(thread_id, {})
        # From the busy check to `admit` nothing awaits, so no other request can slip between.
        if self._queue.admitted(thread_id):
            if request.multitask_strategy == "reject":
                raise thread_busy()
            if request.multitask_strategy == "interrupt":
                self._cancel_thread_runs(thread_id)
        ticket = self._queue.admit(thread_id)
        spec = RunSpec(new_id(), thread_id, assistant, request)
        try:
            await self._record_admission(spec)
        except BaseException:
            ticket.release()
            raise
        log = EventLog()
        task = asyncio.create_task(self._lifecycle(spec, log, ticket), name=f"run-{spec.run_id}")
        run = self._active[spec.run_id] = ActiveRun(spec, log, task)
        return run

    def get(self, run_id: str) -> ActiveRun | None:
        return self._active.get(run_id)

    async def cancel_thread(self, thread_id: str) -> None:
        """Cancel the thread's active and waiting runs, and wait until they have settled."""
        runs = self._cancel_thread_runs(thread_id)
        await asyncio.gather(*(run.outcome() for run in runs), return_exceptions=True)

    async def shutdown(self) -> None:
        """Cancel every run of this process and wait until each has recorded how it ended."""
        runs = list(self._active.values())
        for run in runs:
            run.cancel()
        await asyncio.gather(*(run.outcome() for run in runs), return_exceptions=True)

    async def recover(self) -> None:
        """Settle threads and runs that a stopped process left busy or running."""
        abandoned = await self._runs.abandon_unfinished()
        for thread_id in await self._threads.ids_with_status("busy"):
            await self._save_thread(thread_id, failure=None, next_in_line=False)
        if abandoned:
            logger.warning("recovered runs a previous process left unfinished count=%d", abandoned)

    def _cancel_thread_runs(self, thread_id: str) -> list[ActiveRun]:
        runs = [run for run in self._active.values() if run.thread_id == thread_id]
        for run in runs:
            run.cancel()
        return runs

    async def _record_admission(self, spec: RunSpec) -> None:
        now = utc_now()
        assistant = spec.assistant
        await self._runs.create(
            RunRecord(
                run_id=spec.run_id,
                thread_id=spec.thread_id,
                assistant_id=assistant.assistant_id,
                created_at=now,
                updated_at=now,
                status="pending",
                metadata=spec.request.metadata or {},
                kwargs=spec.record_kwargs(),
                multitask_strategy=spec.request.multitask_strategy,
            )
        )
        await self._threads.merge_metadata(
            spec.thread_id,
            {"graph_id": assistant.graph_id, "assistant_id": assistant.assistant_id},
        )
        await self._threads.set_status(spec.thread_id, "busy")

    async def _lifecycle(self, spec: RunSpec, log: EventLog, ticket: Ticket) -> RunOutcome:
        try:
            outcome = await self._run_in_turn(spec, log, ticket)
            try:
                failure = outcome.error if outcome.status == "error" else None
                next_in_line = self._queue.admitted(spec.thread_id) > 1
                await self._save_thread(spec.thread_id, failure, next_in_line)
                await self._runs.set_status(spec.run_id, outcome.status)
            except Exception:
                logger.exception("run outcome not recorded run_id=%s", spec.run_id)
            return outcome
        finally:
            log.close()
            ticket.release()
            self._active.pop(spec.run_id, None)

    async def _run_in_turn(self, spec: RunSpec, log: EventLog, ticket: Ticket) -> RunOutcome:
        try:
            await ticket.wait_turn()
            await self._runs.set_status(spec.run_id, "running")
            return await self._executor.execute(spec, log)
        except asyncio.CancelledError:
            # Cancelling is how a run is stopped; the task goes on to record that it was.
            if task := asyncio.current_task():
                task.uncancel()
            cancelled = RunCancelled("The run was cancelled before it finished.")
            return failed(log, cancelled, status="interrupted")
        except Exception as exc:
            logger.exception("run could not start run_id=%s", spec.run_id)
            return failed(log, exc)

    async def _save_thread(
        self, thread_id: str, failure: BaseException | None, next_in_line: bool
    ) -> None:
        """Record where the last run left the thread: status, error, values, interrupts."""
        try:
            snapshot = await self._executor.snapshot(thread_id)
        except Exception:
            # A failed run can leave writes LangGraph cannot read back (capture E's input);
            # the thread still records the failure, and keeps its last readable values.
            logger.warning("thread state unreadable thread_id=%s", thread_id)
            snapshot = None
        status: ThreadStatus
        if next_in_line:
            status = "busy"  # the next run on the thread is about to start
        elif failure is not None:
            status = "error"
        else:
            status = "interrupted" if snapshot is not None and snapshot.next else "idle"
        await self._threads.save_state(
            thread_id,
            status=status,
            error=error_event(failure) if failure else None,
            values=snapshot.values if snapshot else None,
            interrupts=pending_interrupts(snapshot) if snapshot else None,
        )


def _refuse_unsupported(request: RunCreate) -> None:
    if request.multitask_strategy == "rollback":
        raise NotSupported(
            'multitask_strategy "rollback" is not supported yet; use "interrupt", "reject" or '
            '"enqueue".'
        )
    if request.webhook:
        raise NotSupported("Webhooks are not supported yet; poll or join the run instead.")
    if request.after_seconds:
        raise NotSupported("Delayed runs (after_seconds) are not supported yet.")
