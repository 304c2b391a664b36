"""`CronJobs`: what the cron routes do. Create, change, find and delete the current owner's crons,
checking first everything that would make them fail (so a refused request writes nothing).

A cron names its assistant (a graph name or UUID, stored as the UUID) and, optionally, a thread
of the same owner. Its schedule and timezone must be valid and fire at least once, and its
payload must be a run this server can start.

Example:
    >>> cron = await jobs.create(None, CronCreate(assistant_id="agent", schedule="0 9 * * *"))
    >>> cron.next_run_date  # the next 9:00 UTC
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import TypeVar

from threadloom.service.assistants import Assistants, system_assistant_id
from threadloom.service.auth.policy import authorize
from threadloom.service.crons.payload import created_payload, patched_payload, run_request
from threadloom.service.crons.schedule import check_interval, check_timezone, first_run
from threadloom.service.crons.scheduler import CronScheduler
from threadloom.service.errors import (
    BadRequest,
    InvalidRequest,
    NotFound,
    thread_not_found,
)
from threadloom.service.ids import canonical_id, new_id
from threadloom.service.runs.spec import RunSpec
from threadloom.service.runs.webhooks import WebhookPolicy
from threadloom.service.schemas.crons import CronCount, CronCreate, CronPatch, CronSearch
from threadloom.service.storage.assistants import Assistant
from threadloom.service.storage.crons import CronQuery, CronRecord, Crons
from threadloom.service.storage.owners import current_owner, policy_filter
from threadloom.service.storage.policy_filters import stamped
from threadloom.service.storage.records import utc_now
from threadloom.service.storage.threads import Threads


def cron_not_found(cron_id: str) -> NotFound:
    return NotFound(f"Cron '{cron_id}' not found")


class CronJobs:
    """The current owner's crons, and the scheduler that fires them (see the module)."""

    def __init__(
        self,
        crons: Crons,
        threads: Threads,
        assistants: Assistants,
        scheduler: CronScheduler,
        webhooks: WebhookPolicy,
        min_interval_s: float = 60.0,
    ) -> None:
        self._crons = crons
        self._min_interval_s = min_interval_s
        self._threads = threads
        self._assistants = assistants
        self.scheduler = scheduler
        self._webhooks = webhooks

    async def create(self, thread_id: str | None, body: CronCreate) -> CronRecord:
        """A new cron: on `thread_id`, or (None) on a new thread per run."""
        body = _stamped(body)
        assistant = await self._assistant(body.assistant_id)
        timezone = check_timezone(body.timezone)
        if body.webhook:  # each of its runs POSTs its result there
            await self._webhooks.check(body.webhook)
        now = utc_now()
        next_run_date = first_run(body.schedule, now, timezone)
        check_interval(body.schedule, self._min_interval_s)
        if thread_id is not None and await self._threads.get(thread_id) is None:
            raise thread_not_found(thread_id)
        cron_id = new_id()
        cron = CronRecord(
            cron_id=cron_id,
            assistant_id=assistant.assistant_id,
            thread_id=thread_id,
            schedule=body.schedule,
            timezone=timezone,
            end_time=_utc(body.end_time),
            next_run_date=next_run_date,
            payload=created_payload(body, assistant.assistant_id, cron_id),
            metadata=body.metadata or {},
            on_run_completed=None if thread_id else body.on_run_completed or "delete",
            enabled=body.enabled,
            created_at=now,
            updated_at=now,
            owned_by=current_owner(),
        )
        _check_runnable(cron, assistant)
        await self._crons.insert(cron)
        self.scheduler.wake()
        return cron

    async def get(self, cron_id: str) -> CronRecord:
        cron = await self._crons.get(canonical_id(cron_id, "cron"))
        if cron is None:
            raise cron_not_found(cron_id)
        return cron

    async def update(self, cron_id: str, body: CronPatch) -> CronRecord:
        """Change the fields `body` sets; a new schedule or timezone fires next from now."""
        if not body.model_fields_set:
            raise BadRequest(
                "Request body cannot be empty: send the fields to change, such as schedule, "
                "enabled, end_time, input or metadata."
            )
        current = await self.get(cron_id)
        if body.metadata is not None:
            body = _stamped(body)
        check_timezone(body.timezone)
        if body.schedule is not None:
            first_run(body.schedule, utc_now(), None)  # its own 422 for an invalid expression
            check_interval(body.schedule, self._min_interval_s)
        if body.webhook:
            await self._webhooks.check(body.webhook)
        assistant = await self._assistants.resolve(current.assistant_id)
        now = utc_now()

        def edit(cron: CronRecord) -> CronRecord:
            changed = _patched(cron, body, now)
            _check_runnable(changed, assistant)
            return changed

        changed = await self._crons.change(current.cron_id, edit)
        if changed is None:
            raise cron_not_found(cron_id)
        self.scheduler.wake()
        return changed

    async def delete(self, cron_id: str) -> None:
        if not await self._crons.delete(canonical_id(cron_id, "cron")):
            raise cron_not_found(cron_id)

    async def search(self, body: CronSearch) -> list[CronRecord]:
        query = CronQuery(
            assistant_id=self._assistant_filter(body.assistant_id),
            thread_id=canonical_id(body.thread_id, "thread") if body.thread_id else None,
            enabled=body.enabled,
            metadata=body.metadata,
            limit=body.limit,
            offset=body.offset,
            sort_by=body.sort_by or "created_at",
            sort_order=body.sort_order or "desc",
        )
        return await self._crons.search(query)

    async def count(self, body: CronCount) -> int:
        query = CronQuery(
            assistant_id=self._assistant_filter(body.assistant_id),
            thread_id=canonical_id(body.thread_id, "thread") if body.thread_id else None,
            metadata=body.metadata,
        )
        return await self._crons.count(query)

    async def _assistant(self, assistant_id: str) -> Assistant:
        """The assistant a new cron runs; 404 for a name that is neither a graph nor the UUID
        of an assistant the caller may use (the auth policy's `assistants.read` judges it, as
        when a run names it)."""
        try:
            await authorize("assistants", "read", {"assistant_id": assistant_id})
            return await self._assistants.resolve(assistant_id)
        except (InvalidRequest, NotFound):
            raise NotFound(
                f"Assistant '{assistant_id}' not found. Use a graph name "
                f"({', '.join(self._assistants.graph_ids)}) or an assistant's UUID."
            ) from None

    def _assistant_filter(self, assistant_id: str | None) -> str | None:
        if not assistant_id:
            return None
        if assistant_id in self._assistants.graph_ids:
            return system_assistant_id(assistant_id)
        return canonical_id(assistant_id, "assistant")


def _patched(cron: CronRecord, body: CronPatch, now: datetime) -> CronRecord:
    """`cron` with `body`'s changes; the next run is recomputed when the schedule or timezone
    changes (422 if the new one is invalid)."""
    schedule = body.schedule if body.schedule is not None else cron.schedule
    timezone = body.timezone if body.timezone is not None else cron.timezone
    next_run_date = cron.next_run_date
    if body.schedule is not None or body.timezone is not None:
        next_run_date = first_run(schedule, now, timezone)
    return replace(
        cron,
        schedule=schedule,
        timezone=timezone,
        next_run_date=next_run_date,
        end_time=_utc(body.end_time) if "end_time" in body.model_fields_set else cron.end_time,
        enabled=body.enabled if body.enabled is not None else cron.enabled,
        on_run_completed=(
            (body.on_run_completed or cron.on_run_completed) if cron.thread_id is None else None
        ),
        metadata={**cron.metadata, **(body.metadata or {})},
        payload=patched_payload(cron.payload, body, cron.cron_id),
        updated_at=now,
    )


def _check_runnable(cron: CronRecord, assistant: Assistant) -> None:
    """Raise the error the cron's runs would fail with, if any (422 or 400)."""
    request = run_request(cron)
    # A run's spec checks the request as it is made (configurable and context together: 400).
    RunSpec(new_id(), cron.thread_id or new_id(), assistant, request)


CronBody = TypeVar("CronBody", CronCreate, CronPatch)


def _stamped(body: CronBody) -> CronBody:
    """`body` with the auth policy's filter stamped into its metadata, which the cron, its
    payload, and so the runs and threads it makes, all carry: no request can place a cron
    or its threads beyond the filter. Unchanged without a filter."""
    filters = policy_filter("crons")
    if not filters:
        return body
    return body.model_copy(update={"metadata": stamped(body.metadata or {}, filters)})


def _utc(moment: datetime | None) -> datetime | None:
    """A time in UTC; one without a zone is taken to be UTC."""
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
