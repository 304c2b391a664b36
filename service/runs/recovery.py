"""Taking over the runs a stopped replica left: start its queued runs here in their threads'
order, run its running ones again here or end them as interrupted, and set right the threads
they left marked busy."""

from __future__ import annotations

import contextlib
import logging

from threadloom.service.assistants import Assistants
from threadloom.service.errors import ServerStopped, error_event
from threadloom.service.runs.active import RunStores
from threadloom.service.runs.executor import RunExecutor, encode, failed, metadata_event
from threadloom.service.runs.lifecycle import RunLifecycle
from threadloom.service.runs.spec import RunSpec
from threadloom.service.schemas.runs import RunCreate
from threadloom.service.storage.owners import acting_for
from threadloom.service.storage.records import RunRecord
from threadloom.service.threads.record import ThreadRecorder

logger = logging.getLogger(__name__)


class RunRecovery:
    """Takes over the runs whose replica's lease expired."""

    def __init__(
        self,
        stores: RunStores,
        assistants: Assistants,
        executor: RunExecutor,
        lifecycle: RunLifecycle,
        thread_record: ThreadRecorder,
        *,
        retry: bool = False,
    ) -> None:
        self._threads = stores.threads
        self._runs = stores.runs
        self._queue = stores.queue
        self._logs = stores.logs
        self._assistants = assistants
        self._executor = executor
        self._lifecycle = lifecycle
        self._thread_record = thread_record
        self._retry_recovered = retry

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
            await self._thread_record.save(thread_id)
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
            assistant = await self._assistants.resolve(record.assistant_id)
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
            recovered=True,
        )
        if attempt > 1:  # a run that had not started has its first `metadata` event already
            log.append(metadata_event(spec))
        self._lifecycle.start(spec, record, ticket, [], log)
