"""The background duties of a serving replica, one beat at a time.

Every beat (a third of the lease time, or at once when a cancel request is published) it renews
the leases of the runs it holds and cancels those asked to stop, takes over the runs of replicas
that stopped (beating again as soon as another replica's next lease runs out, so that a dead
replica's runs are taken over when its lease ends, not up to a beat later), and, now and then,
forgets the event logs of runs that ended long ago and the store items whose time to live ran
out, and sweeps the threads whose TTL ran out (every `sweep_interval_s`; see
`service.threads.ttl_sweeper`). A failing beat (the database is away) is logged and tried again
at the next.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from threadloom.service.runs.queue import RunQueue
from threadloom.service.storage.run_events import RunEventStore
from threadloom.service.storage.store_items import StoreItems
from threadloom.service.storage.wakeups import CANCEL_TOPIC, Wakeups
from threadloom.service.threads.ttl_sweeper import ThreadSweeper

logger = logging.getLogger(__name__)

# How long after another replica's lease ends to look for its runs.
_AFTER_EXPIRY_S = 0.05
# Old event logs are looked for this many times per retention period.
_CLEANUPS_PER_RETENTION = 10


class Upkeep:
    """Runs the beats while the replica serves (see the module's docstring)."""

    def __init__(
        self,
        queue: RunQueue,
        recover: Callable[[], Awaitable[float | None]],
        events: RunEventStore,
        wakeups: Wakeups,
        store_items: StoreItems,
        sweeper: ThreadSweeper,
        *,
        lease_ttl_s: float,
        retention_s: float,
        sweep_interval_s: float,
    ) -> None:
        self._queue = queue
        self._recover = recover
        self._events = events
        self._wakeups = wakeups
        self._store_items = store_items
        self._beat_s = lease_ttl_s / 3
        self._retention_s = retention_s
        self._last_cleanup = -float("inf")
        self._sweeper = sweeper
        self._sweep_interval_s = sweep_interval_s
        self._last_sweep = -float("inf")
        self._next_expiry_s: float | None = None

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """Beat in the background while the block runs."""
        task = asyncio.create_task(self._beat_forever(), name="upkeep")
        try:
            yield
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def _beat_forever(self) -> None:
        with self._wakeups.subscribe(CANCEL_TOPIC) as cancel_requested:
            while True:
                await self._beat()
                wait_s = self._beat_s
                if self._next_expiry_s is not None:
                    # Just after the lease ends (`lease_expires_at < now` takes it over).
                    wait_s = min(wait_s, self._next_expiry_s + _AFTER_EXPIRY_S)
                await cancel_requested.wait(wait_s)

    async def _beat(self) -> None:
        try:
            await self._queue.renew_leases()
            self._next_expiry_s = None
            if self._queue.admitting:  # a draining replica takes on no one else's runs
                self._next_expiry_s = await self._recover()
            if time.monotonic() - self._last_cleanup > self._retention_s / _CLEANUPS_PER_RETENTION:
                self._last_cleanup = time.monotonic()
                if forgotten := await self._events.delete_older_than(self._retention_s):
                    logger.info("old run events deleted count=%d", forgotten)
                if expired := await self._store_items.delete_expired():
                    logger.info("expired store items deleted count=%d", expired)
            if time.monotonic() - self._last_sweep > self._sweep_interval_s:
                self._last_sweep = time.monotonic()
                await self._sweeper.sweep()
        except Exception as exc:
            logger.warning(
                "upkeep beat failed error=%s: %s", type(exc).__name__, exc, exc_info=True
            )
