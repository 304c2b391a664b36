"""Admits runs (one active per thread, by multitask strategy), runs them as tasks, cancels and
rolls them back, and records how they ended.

A run lives in its own asyncio task, not in the request that started it: a client that drops
its stream does not stop the run unless it asked for `on_disconnect: cancel`. Cancelling a run
cancels that task, which reaches the model's generation wherever it is awaiting.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Coroutine
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Literal

from threadloom.service.assistants import Assistants
from threadloom.service.auth.policy import authorize_run
from threadloom.service.errors import (
    THREAD_OR_ASSISTANT_NOT_FOUND,
    BadRequest,
    NotFound,
    ServerStopped,
    error_event,
    thread_busy,
)
from threadloom.service.ids import new_id
from threadloom.service.observability.run_observer import RunObserver
from threadloom.service.runs.events import EventLog, EventLogs
from threadloom.service.runs.executor import (
    RunExecutor,
    RunOutcome,
    encode,
    failed,
    metadata_event,
)
from threadloom.service.runs.queue import RunQueue, Ticket
from threadloom.service.runs.spec import RunSpec
from threadloom.service.runs.stored_run import RemoteRun
from threadloom.service.runs.webhooks import WebhookSender, result_payload
from threadloom.service.schemas.runs import RunCreate, RunsCancel
from threadloom.service.storage.checkpoint_removal import delete_run_checkpoints
from threadloom.service.storage.database import Database, Queries
from threadloom.service.storage.owners import acting_for
from threadloom.service.storage.records import RunRecord, RunStatus, ThreadQuery, utc_now
from threadloom.service.storage.runs import Runs
from threadloom.service.storage.threads import Threads
from threadloom.service.threads.record import ThreadRecorder

logger = logging.getLogger(__name__)

CancelAction = Literal["interrupt", "rollback"]
UNFINISHED: tuple[RunStatus, ...] = ("pending", "running")


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


class RunManager:
    """Owns every active run of this process."""

    def __init__(
        self,
        executor: RunExecutor,
        threads: Threads,
        runs: Runs,
        assistants: Assistants,
        queue: RunQueue,
        logs: EventLogs,
        webhooks: WebhookSender,
        *,
        database: Database,
        retry_recovered: bool = False,
        observer: RunObserver | None = None,
    ) -> None:
        self._executor = executor
        self._threads = threads
        self._runs = runs
        self._queue = queue
        self._logs = logs
        self._db = database
        self._retry_recovered = retry_recovered
        self._webhooks = webhooks
        self._observer = observer or RunObserver()
        # When each active run's turn came (its webhook's `run_started_at`).
        self._started_at: dict[str, datetime] = {}
        self.assistants = assistants
        # Where runs leave their threads; routes that change a thread record it here too.
        self.thread_record = ThreadRecorder(executor, threads)
        self._active: dict[str, ActiveRun] = {}
        self._background: set[asyncio.Task[None]] = set()
        self._stopping = False

    async def submit(self, thread_id: str | None, request: RunCreate) -> ActiveRun:
        """Validate and admit a run on `thread_id` (None: a stateless run on a new thread)
        for the caller, then start it; raises before writing anything if the auth policy, the
        assistant, the thread or the multitask strategy does not allow it.

        Every front starts its runs here, so the caller's identity is judged in this one
        place: the policy's `threads.create_run` and `assistants.read` handlers run first
        (`service.auth.policy.authorize_run`), and the thread and assistant are then read
        through their filters (and, with API keys, the caller's owner), so a thread created
        here carries its owner."""
        request = await authorize_run(thread_id, request)
        return await self._admit(thread_id, request)

    async def _admit(self, thread_id: str | None, request: RunCreate) -> ActiveRun:
        await self._check(request, stateless=thread_id is None)
        temporary = False
        if thread_id is None:
            thread_id, temporary = new_id(), request.on_completion != "keep"
            request = request.model_copy(update={"if_not_exists": "create"})
        run_id = new_id()
        ticket = self._queue.admit(thread_id, run_id)
        try:
            spec, record, unfinished = await self._record_admission(
                run_id, thread_id, request, temporary
            )
        except BaseException:
            ticket.release(announced=True)  # nothing was written: nobody to tell
            raise
        ticket.recorded(holds_turn=record.status == "running")
        self._queue.announce(thread_id)
        superseded = unfinished if request.multitask_strategy in ("interrupt", "rollback") else []
        if superseded:
            await self._stop(thread_id, superseded)
        rollback = superseded if request.multitask_strategy == "rollback" else []
        # Answered as LangGraph Server answers, before a worker picks the run up.
        return self._start(spec, replace(record, status="pending"), ticket, rollback)

    async def submit_stateless_batch(self, requests: list[RunCreate]) -> list[ActiveRun]:
        """Start stateless runs for the caller, once every one of them is allowed and valid."""
        requests = [await authorize_run(None, request) for request in requests]
        for request in requests:
            await self._check(request, stateless=True)
            await self.assistants.resolve(request.assistant_id)
        return [await self._admit(None, request) for request in requests]

    def get(self, run_id: str) -> ActiveRun | None:
        return self._active.get(run_id)

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
        await self._stop(thread_id, [run_id])
        settle = (
            self._roll_back_when_ended(thread_id, run_id)
            if action == "rollback"
            else self.wait_ended(thread_id, run_id)
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
            await self._stop(thread_id, [run_id])
            await self.wait_ended(thread_id, run_id)
        await self._roll_back(thread_id, run_id)

    async def delete_thread(self, thread_id: str) -> None:
        """Delete the thread, its runs and its checkpoints; its active runs are cancelled first."""
        unfinished = await self._unfinished(thread_id)
        if unfinished:
            await self._stop(thread_id, unfinished)
            for run_id in unfinished:
                await self.wait_ended(thread_id, run_id)
        await self._executor.checkpointer.adelete_thread(thread_id)
        await self._threads.delete(thread_id)

    async def forget_assistant(self, assistant_id: str, *, delete_threads: bool) -> None:
        """After an assistant is deleted: stop its runs here, and delete its threads if asked."""
        for run in list(self._active.values()):
            if run.spec.assistant.assistant_id == assistant_id:
                run.cancel()
        if delete_threads:
            query = ThreadQuery(metadata={"assistant_id": assistant_id}, limit=10_000)
            for thread in await self._threads.search(query):
                await self.delete_thread(thread.thread_id)

    async def is_busy(self, thread_id: str) -> bool:
        return await self._queue.busy(thread_id)

    async def shutdown(self) -> None:
        """Cancel every run of this process and wait until each has recorded how it ended; a
        run that had not started is handed over instead (see `_lifecycle`)."""
        self._stopping = True
        runs = list(self._active.values())
        for run in runs:
            run.cancel()
        await asyncio.gather(*(run.outcome() for run in runs), return_exceptions=True)
        await asyncio.gather(*self._background, return_exceptions=True)

    async def recover(self, at_start_up: bool = False) -> float | None:
        """Take over the runs whose replica stopped (at start-up: also those this replica's id
        left in an earlier process): those that had not started are started here in their
        thread's turn; those that were running are run again here, or ended as interrupted.
        Returns the seconds until another replica's next lease runs out (None: no lease)."""
        recovered = await self._runs.recover_expired(retry=self._retry_recovered, own=at_start_up)
        for run in recovered:
            if run.record.status == "pending":
                await self._restart(run.record, attempt=2 if run.started else 1)
            else:
                stopped = error_event(ServerStopped())
                await self._logs.close_with(run.record.run_id, encode("error", stopped))
                await self._queue.ended_elsewhere(run.record.thread_id)
        for thread_id in await self._threads.stale_busy_ids():
            await self.thread_record.save(thread_id)
        if recovered:
            logger.warning(
                "took over runs of a stopped server count=%d started=%d retried=%s",
                len(recovered),
                sum(run.started for run in recovered),
                self._retry_recovered,
            )
        return await self._runs.next_expiry_s()

    async def _restart(self, record: RunRecord, attempt: int) -> None:
        """Run a recovered run here, numbering its events after those stored (every event a
        client may have seen); if an earlier attempt got as far as a checkpoint, from there
        rather than from its input again. It acts for its thread's owner, as the request that
        started it did."""
        owner = acting_for(record.owned_by) if record.owned_by else contextlib.nullcontext()
        with owner:
            await self._restart_as_owner(record, attempt)

    async def _restart_as_owner(self, record: RunRecord, attempt: int) -> None:
        ticket = self._queue.admit(record.thread_id, record.run_id)
        ticket.recorded()
        log = await self._logs.reopen(record.run_id)
        try:
            assistant = await self.assistants.resolve(record.assistant_id)
            request = RunCreate.from_record(record)
            if await self._executor.has_checkpoints_of(record.thread_id, record.run_id):
                request = request.model_copy(update={"input": None, "command": None})
        except Exception as exc:
            failed(log, exc)
            log.close()
            ticket.release()
            await self._runs.set_status(record.run_id, "error")
            return
        spec = RunSpec(
            record.run_id,
            record.thread_id,
            assistant,
            request,
            temporary=record.kwargs.get("temporary", False),
            metadata=record.metadata,
            attempt=attempt,
        )
        if attempt > 1:  # a run that had not started has its first `metadata` event already
            log.append(metadata_event(spec))
        self._start(spec, record, ticket, [], log)

    async def _check(self, request: RunCreate, *, stateless: bool) -> None:
        """Whether this server can run the request, as far as the database does not tell."""
        if request.webhook:
            await self._webhooks.policy.check(request.webhook)
        if stateless and request.command is not None and request.command.resume is not None:
            raise BadRequest("You must provide a thread_id when resuming.")

    async def _unfinished(self, thread_id: str) -> list[str]:
        found: list[str] = []
        for status in UNFINISHED:
            runs = await self._runs.list(thread_id, limit=1000, offset=0, status=status)
            found += [run.run_id for run in runs]
        return found

    async def _stop(self, thread_id: str, run_ids: list[str]) -> None:
        """Cancel the runs: at once if they run here, through the run table if elsewhere."""
        for run_id in run_ids:
            if (active := self._active.get(run_id)) is not None:
                active.cancel()
        await self._queue.cancel(thread_id, run_ids)

    async def _roll_back_when_ended(self, thread_id: str, run_id: str) -> None:
        record = await self.wait_ended(thread_id, run_id)
        # A run that finished before the cancel reached it keeps its results.
        if record is not None and record.status == "interrupted":
            await self._roll_back(thread_id, run_id)

    async def _roll_back(self, thread_id: str, run_id: str) -> None:
        """Delete the ended run and its checkpoints, and record the thread's state without it."""
        await delete_run_checkpoints(self._executor.checkpointer, thread_id, run_id)
        await self._runs.remove(thread_id, run_id)
        await self.thread_record.save(thread_id)

    async def _record_admission(
        self, run_id: str, thread_id: str, request: RunCreate, temporary: bool
    ) -> tuple[RunSpec, RunRecord, list[str]]:
        """In one transaction: read the assistant, check the thread (creating it if the request
        asks to), write the run and mark the thread busy. Returns the run's spec (with its
        merged metadata), the run's row (running if nothing else was pending or running on the
        thread, else pending), and the runs that were."""
        config_metadata = (request.config or {}).get("metadata") or {}
        async with self._db.transaction() as tx:
            assistant = await self.assistants.resolve(request.assistant_id, tx)
            spec = RunSpec(run_id, thread_id, assistant, request, temporary)
            ids = {"graph_id": assistant.graph_id, "assistant_id": assistant.assistant_id}
            thread_metadata, unfinished = await self._lock_thread(spec, tx)
            if thread_metadata is None:
                created = await self._threads.insert(
                    spec.thread_id, {**ids, **config_metadata, **(request.metadata or {})}, tx
                )
                # Another request created the thread meanwhile, or it is someone else's.
                thread_metadata, unfinished = (
                    (created.metadata, []) if created else await self._lock_thread(spec, tx)
                )
                if thread_metadata is None:
                    raise NotFound(THREAD_OR_ASSISTANT_NOT_FOUND)
            if unfinished and request.multitask_strategy == "reject":
                raise thread_busy()
            thread_metadata = await self._threads.mark_busy(
                spec.thread_id, thread_metadata, ids, tx
            )
            metadata = {
                **assistant.metadata,
                **thread_metadata,
                **config_metadata,
                **(request.metadata or {}),
                "assistant_id": assistant.assistant_id,
            }
            spec = replace(spec, metadata=metadata)
            now = utc_now()
            record = RunRecord(
                run_id=spec.run_id,
                thread_id=spec.thread_id,
                assistant_id=assistant.assistant_id,
                created_at=now,
                updated_at=now,
                status="pending" if unfinished or request.after_seconds else "running",
                metadata=metadata,
                kwargs=spec.record_kwargs(),
                multitask_strategy=request.multitask_strategy,
            )
            await self._runs.create(record, tx)
            await self._logs.begin_in(tx, spec.run_id, metadata_event(spec))
        return spec, record, unfinished

    async def _lock_thread(
        self, spec: RunSpec, tx: Queries
    ) -> tuple[dict[str, Any] | None, list[str]]:
        """The thread's metadata (None: no such thread, or the request may not see it) and its
        pending and running runs, the thread locked until `tx` ends; its time-to-live, if it
        has one, counts from now."""
        thread = await self._threads.lock(spec.thread_id, tx)
        if thread is None:
            if spec.request.if_not_exists != "create":
                raise NotFound(THREAD_OR_ASSISTANT_NOT_FOUND)
            return None, []
        if thread.has_ttl:
            await self._threads.ttls.renew(spec.thread_id, utc_now().timestamp(), tx)
        unfinished = await self._runs.unfinished(spec.thread_id, tx) if thread.busy else []
        return thread.metadata, unfinished

    def _start(
        self,
        spec: RunSpec,
        record: RunRecord,
        ticket: Ticket,
        roll_back: list[str],
        log: EventLog | None = None,
    ) -> ActiveRun:
        if log is None:
            # A new run's first event, stored as it was admitted.
            log = self._logs.create(spec.run_id, stored=1)
            log.append(metadata_event(spec))
        name = f"run-{spec.run_id}"
        with self._observer.admitted(spec):  # the tasks log with the run's ids
            execution = asyncio.create_task(
                self._run_in_turn(spec, log, ticket, roll_back), name=name
            )
            task = asyncio.create_task(self._lifecycle(spec, log, ticket, execution), name=name)
        run = self._active[spec.run_id] = ActiveRun(spec, log, execution, task, record)
        return run

    async def _lifecycle(
        self, spec: RunSpec, log: EventLog, ticket: Ticket, execution: asyncio.Task[RunOutcome]
    ) -> RunOutcome:
        status: RunStatus = "error"
        announced = False
        try:
            await asyncio.wait({execution})
            if execution.cancelled() and await self._handed_over(spec, log):
                status = "pending"
                return RunOutcome(status, {})
            if execution.cancelled():
                logger.info("run cancelled run_id=%s thread_id=%s", spec.run_id, spec.thread_id)
                outcome = RunOutcome("interrupted", await self._values(spec))
            else:
                outcome = execution.result()
            status = outcome.status
            # Read before settling, which deletes a stateless run's thread.
            values = await self._webhook_values(spec, outcome)
            stored = await self._logs.detach(spec.run_id, log)
            try:
                await self._settle(spec, outcome, log, stored)
                announced = True
            except Exception:
                logger.exception("run outcome not recorded run_id=%s", spec.run_id)
                self._logs.resume(spec.run_id, log, stored)
            if spec.request.webhook:
                self._send_webhook(spec, outcome, values)
            return outcome
        finally:
            self._observer.ended(spec, status)
            log.close()
            if announced:
                self._logs.ended(spec.run_id, log)
            ticket.release(announced=announced)
            self._active.pop(spec.run_id, None)
            self._started_at.pop(spec.run_id, None)

    async def _handed_over(self, spec: RunSpec, log: EventLog) -> bool:
        """Whether the run, stopped before it started because this replica stops, was handed
        over: it stays pending, for another replica (or this one's next process) to start; its
        streams here end, and their clients rejoin where it runs."""
        if not self._stopping:
            return False
        try:
            if not await self._runs.hand_over(spec.run_id):
                return False
        except Exception as exc:  # the database is away: interrupt it, as before
            logger.warning("run not handed over run_id=%s error=%s", spec.run_id, exc)
            return False
        logger.info("run handed over run_id=%s thread_id=%s", spec.run_id, spec.thread_id)
        await self._logs.detach(spec.run_id, log)
        log.abandon()
        return True

    async def _run_in_turn(
        self, spec: RunSpec, log: EventLog, ticket: Ticket, roll_back: list[str]
    ) -> RunOutcome:
        try:
            if spec.request.after_seconds:
                await asyncio.sleep(spec.request.after_seconds)
            # Runs this one replaces with "rollback" must be gone before it starts from the
            # thread's state.
            for run_id in roll_back:
                await self._roll_back_when_ended(spec.thread_id, run_id)
            await ticket.wait_turn()
            self._started_at[spec.run_id] = utc_now()
            with self._observer.executing(spec):
                return await self._executor.execute(spec, log)
        except Exception as exc:
            logger.exception("run could not start run_id=%s", spec.run_id)
            return failed(log, exc)

    async def _settle(
        self, spec: RunSpec, outcome: RunOutcome, log: EventLog, stored: int
    ) -> None:
        """Record how the run ended, where it left its thread and the rest of its events (from
        number `stored` on), in one transaction that also tells the other replicas that the
        run ended and its thread's turn is free."""
        if spec.temporary:
            await self._executor.checkpointer.adelete_thread(spec.thread_id)
            await self._threads.delete(spec.thread_id)
            return
        failure = outcome.error if outcome.status == "error" else None
        state = await self.thread_record.read(
            spec.thread_id, failure, graph_id=spec.assistant.graph_id
        )
        async with self._db.transaction() as tx:
            await self._runs.set_status(spec.run_id, outcome.status, tx)
            await self.thread_record.write(spec.thread_id, state, besides=spec.run_id, tx=tx)
            await self._logs.end_in(tx, spec.run_id, log, stored)
            await self._queue.announce_end_in(tx, spec.thread_id)

    async def _webhook_values(self, spec: RunSpec, outcome: RunOutcome) -> Any:
        """The run's final values for its webhook (a failed run's: its thread's last ones)."""
        if not spec.request.webhook:
            return None
        if outcome.status == "error":
            return await self._values(spec)
        return outcome.result

    def _send_webhook(self, spec: RunSpec, outcome: RunOutcome, values: Any) -> None:
        active = self._active.get(spec.run_id)
        if active is None or not spec.request.webhook:
            return
        now = utc_now()
        row = replace(active.record, status=outcome.status, updated_at=now, metadata=spec.metadata)
        error = error_event(outcome.error) if outcome.status == "error" and outcome.error else None
        payload = result_payload(
            row.to_api(),
            started_at=self._started_at.get(spec.run_id),
            ended_at=now,
            values=values,
            error=error,
        )
        self._webhooks.send(spec.request.webhook, payload)

    async def _values(self, spec: RunSpec) -> Any:
        try:
            return (await self._executor.snapshot(spec.thread_id, spec.assistant.graph_id)).values
        except Exception:
            return {}

    def _in_background(self, work: Coroutine[Any, Any, Any]) -> None:
        """Finish `work` after the request that asked for it has been answered."""
        task = asyncio.create_task(work)
        self._background.add(task)
        task.add_done_callback(self._background_done)

    def _background_done(self, task: asyncio.Task[Any]) -> None:
        self._background.discard(task)
        if not task.cancelled() and (exc := task.exception()) is not None:
            logger.error("cancelling a run failed error=%s", type(exc).__name__, exc_info=exc)
