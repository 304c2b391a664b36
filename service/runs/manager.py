"""The runs core that routes, protocols and crons call: one face over the jobs it is split
into (admission and lifecycle, cancellation, recovery; webhooks beside them).

Example:
    >>> manager = RunManager(executor, stores, assistants, webhooks, thread_record)
    >>> run = await manager.submit(thread_id, RunCreate(assistant_id="agent", input=...))
    >>> outcome = await run.outcome()
"""

from __future__ import annotations

from threadloom.service.assistants import Assistants
from threadloom.service.observability.run_observer import RunObserver
from threadloom.service.runs.active import (
    ActiveRun,
    ActiveRuns,
    CancelAction,
    RunStores,
)
from threadloom.service.runs.admission import RunAdmission
from threadloom.service.runs.cancellation import RunCancellation
from threadloom.service.runs.executor import RunExecutor
from threadloom.service.runs.lifecycle import RunLifecycle
from threadloom.service.runs.recovery import RunRecovery
from threadloom.service.runs.run_webhooks import RunWebhooks
from threadloom.service.runs.stored_run import RemoteRun
from threadloom.service.runs.webhooks import WebhookSender
from threadloom.service.schemas.runs import RunCreate, RunsCancel
from threadloom.service.storage.records import RunRecord
from threadloom.service.threads.record import ThreadRecorder

__all__ = ["ActiveRun", "CancelAction", "RunManager"]


class RunManager:
    """Owns every active run of this process."""

    def __init__(
        self,
        executor: RunExecutor,
        stores: RunStores,
        assistants: Assistants,
        webhooks: WebhookSender,
        thread_record: ThreadRecorder,
        *,
        retry_recovered: bool = False,
        observer: RunObserver | None = None,
    ) -> None:
        self._queue = stores.queue
        self._active = ActiveRuns(stores)
        self._cancellation = RunCancellation(
            self._active, executor, stores.threads, stores.runs, thread_record
        )
        self._lifecycle = RunLifecycle(
            self._active,
            executor,
            stores,
            self._cancellation,
            RunWebhooks(webhooks, executor),
            thread_record,
            observer or RunObserver(),
        )
        self._admission = RunAdmission(
            stores, assistants, self._active, self._lifecycle, webhooks.policy
        )
        self._recovery = RunRecovery(
            stores,
            assistants,
            executor,
            self._lifecycle,
            thread_record,
            retry=retry_recovered,
        )

    async def submit(self, thread_id: str | None, request: RunCreate) -> ActiveRun:
        """See `RunAdmission.submit`."""
        return await self._admission.submit(thread_id, request)

    async def submit_stateless_batch(self, requests: list[RunCreate]) -> list[ActiveRun]:
        return await self._admission.submit_stateless_batch(requests)

    async def find(self, thread_id: str, run_id: str) -> ActiveRun | RemoteRun | None:
        return await self._active.find(thread_id, run_id)

    async def wait_ended(self, thread_id: str, run_id: str) -> RunRecord | None:
        return await self._active.wait_ended(thread_id, run_id)

    async def cancel(
        self, thread_id: str, run_id: str, *, action: CancelAction = "interrupt", wait: bool
    ) -> None:
        """See `RunCancellation.cancel`."""
        await self._cancellation.cancel(thread_id, run_id, action=action, wait=wait)

    async def cancel_many(self, request: RunsCancel, *, action: CancelAction) -> None:
        await self._cancellation.cancel_many(request, action=action)

    async def delete_run(self, thread_id: str, run_id: str) -> None:
        await self._cancellation.delete_run(thread_id, run_id)

    async def delete_thread(self, thread_id: str) -> None:
        await self._cancellation.delete_thread(thread_id)

    async def forget_assistant(self, assistant_id: str, *, delete_threads: bool) -> None:
        await self._cancellation.forget_assistant(assistant_id, delete_threads=delete_threads)

    async def is_busy(self, thread_id: str) -> bool:
        return await self._queue.busy(thread_id)

    async def shutdown(self) -> None:
        """Cancel every run of this process and wait until each has recorded how it ended (a
        run that had not started is handed over instead)."""
        await self._lifecycle.shutdown()

    async def recover(self, at_start_up: bool = False) -> float | None:
        """See `RunRecovery.recover`."""
        return await self._recovery.recover(at_start_up)
