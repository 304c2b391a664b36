"""`CronScheduler`: fires the crons that are due, as runs, while the replica serves.

It sleeps until the next cron is due, or `poll_interval_s` at most (another replica may have
made or changed a cron meanwhile; a change made here wakes it at once). Each due cron is claimed
with one guarded UPDATE of its next run time (`Crons.claim`), so when replicas share a database
exactly one of them starts the run. The run is submitted to the `RunManager` as its owner would:
on the cron's thread, or (a cron without a thread) on a new thread, deleted after the run unless
the cron keeps it. A missed time (the server was down) fires once, then the schedule goes on from
now. A run that cannot start (its thread busy with `reject`, say) is logged and skipped.

Example:
    >>> scheduler = CronScheduler(crons, run_manager, queue, poll_interval_s=1)
    >>> async with scheduler.running():
    ...     ...  # serve
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, nullcontext, suppress
from datetime import datetime

from threadloom.service.crons.payload import run_request
from threadloom.service.crons.schedule import next_run
from threadloom.service.errors import ServiceError
from threadloom.service.runs.manager import ActiveRun, RunManager
from threadloom.service.runs.queue import RunQueue
from threadloom.service.storage.crons import CronRecord, Crons
from threadloom.service.storage.owners import acting_for
from threadloom.service.storage.records import utc_now

logger = logging.getLogger(__name__)

FiredHook = Callable[[CronRecord, ActiveRun], None]


class CronScheduler:
    """Fires due crons (see the module's docstring).

    `clock` says what time it is (tests move it ahead to make crons due); `on_fired`, if set,
    is called with each cron and the run it started.
    """

    def __init__(
        self,
        crons: Crons,
        runs: RunManager,
        queue: RunQueue,
        *,
        poll_interval_s: float,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._crons = crons
        self._runs = runs
        self._queue = queue
        self._poll_interval_s = poll_interval_s
        self._woken = asyncio.Event()
        self.clock = clock
        self.on_fired: FiredHook | None = None

    def wake(self) -> None:
        """Look at the crons again now (one was made or changed here)."""
        self._woken.set()

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """Fire due crons in the background while the block runs."""
        task = asyncio.create_task(self._fire_forever(), name="cron-scheduler")
        try:
            yield
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def tick(self, now: datetime | None = None) -> list[ActiveRun]:
        """Claim and fire every cron due at `now` (by default the clock's time) that no other
        replica claimed first; returns the runs started."""
        now = now or self.clock()
        started: list[ActiveRun] = []
        for cron in await self._crons.due(now):
            if not await self._crons.claim(cron, _following(cron, now)):
                continue  # another replica fired it
            run = await self._fire(cron)
            if run is not None:
                started.append(run)
                if self.on_fired is not None:
                    self.on_fired(cron, run)
        return started

    async def _fire_forever(self) -> None:
        while True:
            self._woken.clear()  # before looking: a change made while looking still wakes
            wait_s = self._poll_interval_s
            try:
                if self._queue.admitting:  # a draining replica leaves crons to the others
                    now = self.clock()
                    await self.tick(now)
                    wait_s = await self._seconds_until_due(now)
            except Exception as exc:
                logger.warning(
                    "cron scheduler tick failed error=%s: %s",
                    type(exc).__name__,
                    exc,
                    exc_info=True,
                )
            with suppress(TimeoutError):
                await asyncio.wait_for(self._woken.wait(), wait_s)

    async def _seconds_until_due(self, now: datetime) -> float:
        due = await self._crons.next_due(now)
        if due is None:
            return self._poll_interval_s
        return max(0.0, min(self._poll_interval_s, (due - now).total_seconds()))

    async def _fire(self, cron: CronRecord) -> ActiveRun | None:
        owner = acting_for(cron.owned_by) if cron.owned_by is not None else nullcontext()
        try:
            with owner:  # the run, and its new thread, belong to the cron's owner
                run = await self._runs.submit(cron.thread_id, run_request(cron))
        except ServiceError as exc:
            logger.warning(
                "cron run not started cron_id=%s thread_id=%s error=%s: %s",
                cron.cron_id,
                cron.thread_id,
                type(exc).__name__,
                exc.detail,
            )
            return None
        except Exception:
            logger.exception("cron run not started cron_id=%s", cron.cron_id)
            return None
        logger.info(
            "cron fired cron_id=%s run_id=%s thread_id=%s", cron.cron_id, run.run_id, run.thread_id
        )
        return run


def _following(cron: CronRecord, now: datetime) -> datetime | None:
    """When the cron fires after this time; None (never) if that cannot be worked out (its
    timezone is gone from this system, say), so that it does not hold up the others."""
    try:
        return next_run(cron.schedule, now, cron.timezone)
    except Exception:
        logger.exception(
            "cron stopped: its next run time cannot be computed cron_id=%s schedule=%r "
            "timezone=%s; change its schedule or timezone to start it again",
            cron.cron_id,
            cron.schedule,
            cron.timezone,
        )
        return None
