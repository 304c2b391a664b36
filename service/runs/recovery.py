"""Recovering the runs a stopped replica left: run them again here, or end them as
interrupted, and set right the threads they left marked busy."""

from __future__ import annotations

import contextlib
import logging

from threadloom.service.assistants import Assistants
from threadloom.service.errors import ServerStopped, error_event
from threadloom.service.runs.active import RunStores
from threadloom.service.runs.executor import RunExecutor, encode, failed
from threadloom.service.runs.lifecycle import RunLifecycle
from threadloom.service.runs.spec import RunSpec
from threadloom.service.schemas.runs import RunCreate
from threadloom.service.storage.owners import acting_for
from threadloom.service.storage.records import RunRecord
from threadloom.service.threads.record import ThreadRecorder

logger = logging.getLogger(__name__)


class RunRecovery:
    """Settles the runs whose replica's lease expired."""

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

    async def recover(self, at_start_up: bool = False) -> None:
        """Settle the runs whose replica stopped (at start-up: also those this replica's id left
        in an earlier process): run them again here, or end them as interrupted."""
        recovered = await self._runs.recover_expired(retry=self._retry_recovered, own=at_start_up)
        for record in recovered:
            if self._retry_recovered:
                await self._restart(record)
            else:
                stopped = error_event(ServerStopped())
                await self._logs.close_with(record.run_id, encode("error", stopped))
        for thread_id in await self._threads.stale_busy_ids():
            await self._thread_record.save(thread_id)
        if recovered:
            logger.warning(
                "settled runs of a stopped server count=%d retried=%s",
                len(recovered),
                self._retry_recovered,
            )

    async def _restart(self, record: RunRecord) -> None:
        """Run a recovered run again, numbering its events after those its first attempt
        logged; if that attempt got as far as a checkpoint, from there rather than from its
        input again. It acts for its thread's owner, as the request that started it did."""
        owner = acting_for(record.owned_by) if record.owned_by else contextlib.nullcontext()
        with owner:
            await self._restart_as_owner(record)

    async def _restart_as_owner(self, record: RunRecord) -> None:
        ticket = self._queue.admit(record.thread_id, record.run_id)
        log = self._logs.create(record.run_id, await self._logs.count(record.run_id))
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
            attempt=2,
        )
        self._lifecycle.start(spec, record, ticket, [], log)
