"""The events of a run, kept in order so that any number of readers can follow them live.

`EventLog` holds a running run's events in memory: readers in this process follow it without
touching the database. `EventLogs.create` also stores every event (in order, in batches, from a
writer task), so that `EventLogs.stored` can replay a run's events after `Last-Event-ID` once it
has left memory, or follow a run that another replica executes.

The writer gathers events for up to `BATCH_WINDOW_S` before it stores them, unless the run
ends first: one transaction per window rather than one per event, so a run of a few steps
stores its whole log in one. Readers elsewhere lag by at most that window.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from threadloom.service.storage.database import Queries
from threadloom.service.storage.records import RunEvent
from threadloom.service.storage.run_events import RunEventStore
from threadloom.service.storage.wakeups import Wakeups, run_topic

__all__ = ["EventLog", "EventLogs", "RunEvent", "StoredEventLog"]

logger = logging.getLogger(__name__)

BATCH_WINDOW_S = 0.05


class EventLog:
    """Append-only log of a run's events; readers start at any index and wait for more.

    Keeping every event (rather than handing each to one queue) is what lets a stream that
    joins late, or reconnects with `Last-Event-ID`, replay what it missed. Numbering starts at
    `first_index` (a retried run continues the numbers of its first attempt).
    """

    def __init__(self, first_index: int = 0) -> None:
        self.first_index = first_index
        self._events: list[RunEvent] = []
        self._closed = False
        self._changed = asyncio.Event()
        self._ended = asyncio.Event()

    def __len__(self) -> int:
        return self.first_index + len(self._events)

    @property
    def closed(self) -> bool:
        return self._closed

    def append(self, event: RunEvent) -> None:
        if self._closed:
            raise RuntimeError("The run's event log is closed; nothing may be added after it.")
        self._events.append(event)
        self._wake()

    def close(self) -> None:
        """Mark the end of the run: readers finish once they have read everything."""
        self._closed = True
        self._ended.set()
        self._wake()

    def since(self, index: int) -> list[RunEvent]:
        """The events from number `index` on (as many as there are now)."""
        return self._events[max(index - self.first_index, 0) :]

    async def changed(self) -> None:
        """Wait for the next append or close."""
        await self._changed.wait()

    async def closed_within(self, timeout_s: float) -> None:
        """Wait until the log closes, or at most `timeout_s`."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._ended.wait(), timeout_s)

    async def follow(self, start: int | None = 0) -> AsyncIterator[tuple[int, RunEvent]]:
        """Yield `(index, event)` from `start` on (None: from the next new event), waiting for
        new events until the log closes."""
        index = len(self) if start is None else max(start, self.first_index)
        while True:
            while index < len(self):
                yield index, self._events[index - self.first_index]
                index += 1
            if self._closed:
                return
            # No await between the length check and taking the signal, so no wake is missed.
            await self._changed.wait()

    def _wake(self) -> None:
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()


class StoredEventLog:
    """A run's events as stored: replayed, and followed while its owner (this replica or another)
    keeps adding them, until the log is complete."""

    def __init__(self, run_id: str, store: RunEventStore, wakeups: Wakeups) -> None:
        self.run_id = run_id
        self._store = store
        self._wakeups = wakeups

    async def follow(self, start: int | None = 0) -> AsyncIterator[tuple[int, RunEvent]]:
        """Yield `(index, event)` from `start` on (None: from the next new event)."""
        index = await self._store.count(self.run_id) if start is None else start
        with self._wakeups.subscribe(run_topic(self.run_id)) as woken:
            while True:
                # Checked before reading: once complete, the read below sees every event.
                complete = await self._store.is_complete(self.run_id)
                events = await self._store.read(self.run_id, index)
                for event in events:
                    yield index, event
                    index += 1
                if events:
                    continue  # there may be more than one read returns
                if complete:
                    return
                await woken.wait()


class EventLogs:
    """Creates the event logs of runs executed here, and writes each one to the database."""

    def __init__(self, store: RunEventStore, wakeups: Wakeups) -> None:
        self._store = store
        self._wakeups = wakeups
        self._writers: set[asyncio.Task[None]] = set()

    def create(self, run_id: str, first_index: int = 0) -> EventLog:
        """A new log for a run starting here; its events are stored until it closes."""
        log = EventLog(first_index)
        writer = asyncio.create_task(self._write(run_id, log), name=f"events-{run_id}")
        self._writers.add(writer)
        writer.add_done_callback(self._writers.discard)
        return log

    def stored(self, run_id: str) -> StoredEventLog:
        return StoredEventLog(run_id, self._store, self._wakeups)

    async def count(self, run_id: str) -> int:
        return await self._store.count(run_id)

    async def close_with(self, run_id: str, event: RunEvent) -> None:
        """End the stored log of a run that no one executes any more with `event`."""
        await self._store.close_with(run_id, event)
        await self._wakeups.publish(run_topic(run_id))

    async def aclose(self, timeout_s: float) -> None:
        """Wait (up to `timeout_s`) until every log's events have been written out."""
        if not self._writers:
            return
        _, late = await asyncio.wait(set(self._writers), timeout=timeout_s)
        for writer in late:
            logger.error("run events not stored before shutdown task=%s", writer.get_name())
            writer.cancel()

    async def _write(self, run_id: str, log: EventLog) -> None:
        stored = log.first_index
        while True:
            # Whatever came since the last write, as one batch; the close rides with the last.
            batch, closing = log.since(stored), log.closed
            if not batch and not closing:
                await log.changed()
                continue
            if not closing:
                await log.closed_within(BATCH_WINDOW_S)
                batch, closing = log.since(stored), log.closed
            if not await self._write_batch(run_id, stored, batch, closing):
                return  # the run was deleted: its events go with it
            stored += len(batch)
            self._wakeups.wake_local(run_topic(run_id))
            if closing:
                return

    async def _write_batch(
        self, run_id: str, first: int, batch: list[RunEvent], close: bool
    ) -> bool:
        """Store the batch; the other replicas hear of it when it commits."""

        async def notify(tx: Queries) -> None:
            await self._wakeups.notify_others_in(tx, run_topic(run_id))

        while True:
            try:
                return await self._store.append(run_id, first, batch, close=close, also=notify)
            except Exception as exc:
                # The database is away (a restart): keep the events and try again; writing them
                # twice is harmless.
                logger.warning(
                    "run events not stored yet run_id=%s events=%d error=%s",
                    run_id,
                    len(batch),
                    type(exc).__name__,
                )
                with self._wakeups.subscribe(run_topic(run_id)) as pause:
                    await pause.wait()
