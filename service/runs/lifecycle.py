"""A run's life once admitted: two tasks, one that waits for the run's turn and executes the
graph, one that records how it ended (status, thread row, the rest of its events) in one
transaction, then hands it to its webhook."""

from __future__ import annotations

import asyncio
import logging

from threadloom.service.observability.run_observer import RunObserver
from threadloom.service.runs.active import ActiveRun, ActiveRuns, RunStores
from threadloom.service.runs.cancellation import RunCancellation
from threadloom.service.runs.events import EventLog
from threadloom.service.runs.executor import RunExecutor, RunOutcome, failed, metadata_event
from threadloom.service.runs.queue import Ticket
from threadloom.service.runs.run_webhooks import RunWebhooks
from threadloom.service.runs.spec import RunSpec
from threadloom.service.storage.records import RunRecord, RunStatus
from threadloom.service.threads.record import ThreadRecorder

logger = logging.getLogger(__name__)


class RunLifecycle:
    """Starts admitted runs as tasks and settles them when they end."""

    def __init__(
        self,
        active: ActiveRuns,
        executor: RunExecutor,
        stores: RunStores,
        cancellation: RunCancellation,
        webhooks: RunWebhooks,
        thread_record: ThreadRecorder,
        observer: RunObserver,
    ) -> None:
        self._active = active
        self._executor = executor
        self._db = stores.database
        self._threads = stores.threads
        self._runs = stores.runs
        self._queue = stores.queue
        self._logs = stores.logs
        self._cancellation = cancellation
        self._webhooks = webhooks
        self._thread_record = thread_record
        self._observer = observer
        self._stopping = False

    def start(
        self,
        spec: RunSpec,
        record: RunRecord,
        ticket: Ticket,
        roll_back: list[str],
        log: EventLog | None = None,
    ) -> ActiveRun:
        """Run the admitted run in its own tasks, after the runs it replaces (`roll_back`)
        are gone and its turn on the thread has come."""
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
        return self._active.add(ActiveRun(spec, log, execution, task, record))

    async def shutdown(self) -> None:
        """Cancel every run of this process and wait until each has recorded how it ended; a
        run that had not started is handed over instead (see `_handed_over`)."""
        self._stopping = True
        runs = list(self._active)
        for run in runs:
            run.cancel()
        await asyncio.gather(*(run.outcome() for run in runs), return_exceptions=True)
        await self._cancellation.aclose()

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
                outcome = RunOutcome("interrupted", await self._executor.last_values(spec))
            else:
                outcome = execution.result()
            status = outcome.status
            # Read before settling, which deletes a stateless run's thread.
            values = await self._webhooks.values(spec, outcome)
            stored = await self._logs.detach(spec.run_id, log)
            try:
                await self._settle(spec, outcome, log, stored)
                announced = True
            except Exception:
                logger.exception("run outcome not recorded run_id=%s", spec.run_id)
                self._logs.resume(spec.run_id, log, stored)
            if spec.request.webhook:
                self._webhooks.send(self._active.get(spec.run_id), outcome, values)
            return outcome
        finally:
            self._observer.ended(spec, status)
            log.close()
            if announced:
                self._logs.ended(spec.run_id, log)
            ticket.release(announced=announced)
            self._active.discard(spec.run_id)
            self._webhooks.forget(spec.run_id)

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
                await self._cancellation.roll_back_when_ended(spec.thread_id, run_id)
            await ticket.wait_turn()
            self._webhooks.started(spec.run_id)
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
        state = await self._thread_record.read(
            spec.thread_id, failure, graph_id=spec.assistant.graph_id
        )
        async with self._db.transaction() as tx:
            await self._runs.set_status(spec.run_id, outcome.status, tx)
            await self._thread_record.write(spec.thread_id, state, besides=spec.run_id, tx=tx)
            await self._logs.end_in(tx, spec.run_id, log, stored)
            await self._queue.announce_end_in(tx, spec.thread_id)
