"""Admitting runs: one active run per thread, by multitask strategy. A run is validated, then
written with its thread marked busy in one transaction, then started; it is answered as
LangGraph Server answers, before a worker picks it up."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from threadloom.service.assistants import Assistants
from threadloom.service.auth.policy import authorize_run
from threadloom.service.errors import (
    THREAD_OR_ASSISTANT_NOT_FOUND,
    BadRequest,
    NotFound,
    thread_busy,
)
from threadloom.service.ids import new_id
from threadloom.service.runs.active import ActiveRun, ActiveRuns, RunStores
from threadloom.service.runs.executor import metadata_event
from threadloom.service.runs.lifecycle import RunLifecycle
from threadloom.service.runs.spec import RunSpec
from threadloom.service.runs.webhooks import WebhookPolicy
from threadloom.service.schemas.runs import RunCreate
from threadloom.service.storage.database import Queries
from threadloom.service.storage.records import RunRecord, utc_now


class RunAdmission:
    """Checks, records and starts new runs."""

    def __init__(
        self,
        stores: RunStores,
        assistants: Assistants,
        active: ActiveRuns,
        lifecycle: RunLifecycle,
        webhook_policy: WebhookPolicy,
    ) -> None:
        self._db = stores.database
        self._threads = stores.threads
        self._runs = stores.runs
        self._queue = stores.queue
        self._logs = stores.logs
        self._assistants = assistants
        self._active = active
        self._lifecycle = lifecycle
        self._webhook_policy = webhook_policy

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
            await self._active.stop(thread_id, superseded)
        rollback = superseded if request.multitask_strategy == "rollback" else []
        # Answered as LangGraph Server answers, before a worker picks the run up.
        return self._lifecycle.start(spec, replace(record, status="pending"), ticket, rollback)

    async def submit_stateless_batch(self, requests: list[RunCreate]) -> list[ActiveRun]:
        """Start stateless runs for the caller, once every one of them is allowed and valid."""
        requests = [await authorize_run(None, request) for request in requests]
        for request in requests:
            await self._check(request, stateless=True)
            await self._assistants.resolve(request.assistant_id)
        return [await self._admit(None, request) for request in requests]

    async def _check(self, request: RunCreate, *, stateless: bool) -> None:
        """Whether this server can run the request, as far as the database does not tell."""
        if request.webhook:
            await self._webhook_policy.check(request.webhook)
        if stateless and request.command is not None and request.command.resume is not None:
            raise BadRequest("You must provide a thread_id when resuming.")

    async def _record_admission(
        self, run_id: str, thread_id: str, request: RunCreate, temporary: bool
    ) -> tuple[RunSpec, RunRecord, list[str]]:
        """In one transaction: read the assistant, check the thread (creating it if the request
        asks to), write the run and mark the thread busy. Returns the run's spec (with its
        merged metadata), the run's row (running if nothing else was pending or running on the
        thread, else pending), and the runs that were."""
        config_metadata = (request.config or {}).get("metadata") or {}
        async with self._db.transaction() as tx:
            assistant = await self._assistants.resolve(request.assistant_id, tx)
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
