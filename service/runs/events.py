"""The events of a run, kept in order so that any number of readers can follow them live.

`EventLog` holds a running run's events in memory: readers in this process follow it without
touching the database. `EventLogs.create` also stores every event (in order, in batches, from a
writer task), so that `EventLogs.stored` can replay a run's events after `Last-Event-ID` once it
has left memory, or follow a run that another replica executes.

A run's log is stored in the transactions that admit and settle the run, and in between at
most once per `BATCH_WINDOW_S` (see `EventLogs`): a run shorter than that window costs no
transaction of its own for its events, a long one one per window rather than one per event.

Store before send: an event reaches a reader, here or on another replica, only once it is
stored (the write is batched, and the events of a batch become visible together when it
commits). So every id a client holds names a stored event: after a crash, the event that
settles the run (`close_with`) and the events of a retry are numbered after every id any
client saw, and a rejoin with any `Last-Event-ID` misses nothing and repeats nothing. Readers
lag the run by at most one window and one commit.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator

from threadloom.service.storage.database import Queries
from threadloom.service.storage.errors import CONNECTION_ERRORS
from threadloom.service.storage.records import RunEvent
from threadloom.service.storage.run_events import Appended, RunEventStore
from threadloom.service.storage.wakeups import Wakeups, run_topic

__all__ = ["EventLog", "EventLogs", "RunEvent", "StoredEventLog"]

logger = logging.getLogger(__name__)

BATCH_WINDOW_S = 0.05
# How long a batch is retried while the database is unreachable, before its writer gives up.
WRITE_RETRY_LIMIT_S = 120.0


class EventLog:
    """Append-only log of a run's events; readers start at any index and wait for more.

    Keeping every event (rather than handing each to one queue) is what lets a stream that
    joins late, or reconnects with `Last-Event-ID`, replay what it missed. A log reopened for a
    retried run starts with the events stored by the earlier attempts (`earlier`). Readers see
    the events up to `visible`: those stored (`publish`), or all of them once nothing will be
    stored any more (`release`: the run and its log are deleted).
    """

    def __init__(self, earlier: list[RunEvent] | None = None, visible: int = 0) -> None:
        self._events: list[RunEvent] = earlier or []
        self.visible = max(visible, len(self._events))
        self._changed = asyncio.Event()
        self._ended = asyncio.Event()  # set once the log closes
        self._abandoned = False

    def __len__(self) -> int:
        return len(self._events)

    @property
    def closed(self) -> bool:
        return self._ended.is_set()

    def append(self, event: RunEvent) -> None:
        if self._abandoned:
            return
        if self.closed:
            raise RuntimeError("The run's event log is closed; nothing may be added after it.")
        self._events.append(event)
        self._wake()

    def close(self) -> None:
        """Mark the end of the run: readers finish once they have read everything."""
        self._ended.set()
        self._wake()

    def publish(self, stored: int) -> None:
        """Events up to number `stored` are stored: readers may see them now."""
        if stored > self.visible and not self._abandoned:
            self.visible = stored
            self._wake()

    def release(self) -> None:
        """Let readers see every event without storing it (the run's stored log is gone)."""
        self.publish(len(self))

    def abandon(self) -> None:
        """Another replica took the run over and numbers its further events: what was not
        stored here is never sent, and readers here end at the last stored event (a client
        rejoins the run's stored log after it)."""
        self._abandoned = True
        self.close()

    def since(self, index: int) -> list[RunEvent]:
        """The events from number `index` on (as many as there are now)."""
        return self._events[max(index, 0) :]

    def visible_since(self, index: int) -> list[RunEvent]:
        """The events from number `index` on that readers may see now (stored, or released)."""
        return self._events[max(index, 0) : self.visible]

    def read_to_end(self, index: int) -> bool:
        """Whether a reader at `index` has had everything it will ever be shown."""
        return self.closed and (index >= len(self) or self._abandoned)

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
        index = self.visible if start is None else max(start, 0)
        while True:
            while index < self.visible:
                yield index, self._events[index]
                index += 1
            if self.read_to_end(index):
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
    """Creates the event logs of runs executed here, and stores each one in the database.

    A run's first event is stored as it is admitted (`begin_in`, in the admission's
    transaction) and the rest of its log as it ends (`end_in`, in the transaction that settles
    it). In between a writer task stores what came, at most once per `BATCH_WINDOW_S`.
    """

    def __init__(self, store: RunEventStore, wakeups: Wakeups) -> None:
        self._store = store
        self._wakeups = wakeups
        self._writers: dict[str, _Writer] = {}

    def create(self, run_id: str, *, stored: int = 0) -> EventLog:
        """A new log for a run starting here; its events from number `stored` on (by default
        all of them) are stored by a writer task."""
        log = EventLog(visible=stored)
        self._start_writer(run_id, log, stored)
        return log

    async def reopen(self, run_id: str) -> EventLog:
        """The log of a run taken over here: the events stored so far (every one a client may
        have seen), then those of this attempt, stored by a writer task."""
        earlier: list[RunEvent] = []
        while batch := await self._store.read(run_id, len(earlier)):
            earlier += batch
        log = EventLog(earlier)
        self._start_writer(run_id, log, len(earlier))
        return log

    async def begin_in(self, tx: Queries, run_id: str, event: RunEvent) -> None:
        """Within `tx`, which writes the run's row: store `event` as the run's first."""
        await self._store.insert_in(tx, run_id, 0, [event])

    async def detach(self, run_id: str, log: EventLog) -> int:
        """Stop storing the run's events in the background (after the write under way, if
        any); how many of them are stored, or all of them if the writer stopped already (the
        run was deleted: there is nothing left to store)."""
        writer = self._writers.pop(run_id, None)
        return len(log) if writer is None else await writer.stop()

    async def end_in(self, tx: Queries, run_id: str, log: EventLog, stored: int) -> None:
        """Within `tx`, which settles the run: store its events from number `stored` on and
        mark its stored log complete; the other replicas hear of it when `tx` commits (this
        one's waiters: `ended`)."""
        appended = await self._store.append_in(tx, run_id, stored, log.since(stored), close=True)
        if appended == "taken":
            log.abandon()
        await self._wakeups.notify_others_in(tx, run_topic(run_id))

    def ended(self, run_id: str, log: EventLog) -> None:
        """The transaction of `end_in` committed: readers may see the whole log now; wake this
        process's waiters on the run."""
        log.publish(len(log))
        self._wakeups.wake_local(run_topic(run_id))

    def resume(self, run_id: str, log: EventLog, stored: int) -> None:
        """Store the run's events from number `stored` on in the background again, until the
        log closes (when settling the run failed and `end_in` did not commit)."""
        self._start_writer(run_id, log, stored)

    def stored(self, run_id: str) -> StoredEventLog:
        return StoredEventLog(run_id, self._store, self._wakeups)

    async def close_with(self, run_id: str, event: RunEvent) -> None:
        """End the stored log of a run that no one executes any more with `event`."""
        await self._store.close_with(run_id, event)
        await self._wakeups.publish(run_topic(run_id))

    async def aclose(self, timeout_s: float) -> None:
        """Wait (up to `timeout_s`) until every log's events have been written out."""
        tasks = {writer.task for writer in self._writers.values()}
        if not tasks:
            return
        _, late = await asyncio.wait(tasks, timeout=timeout_s)
        for task in late:
            logger.error("run events not stored before shutdown task=%s", task.get_name())
            task.cancel()

    def _start_writer(self, run_id: str, log: EventLog, stored: int) -> None:
        writer = self._writers[run_id] = _Writer(self, run_id, log, stored)
        writer.task.add_done_callback(lambda _: self._forget(run_id, writer))

    def _forget(self, run_id: str, writer: _Writer) -> None:
        if self._writers.get(run_id) is writer:
            del self._writers[run_id]

    async def _write_batch(
        self, run_id: str, first: int, batch: list[RunEvent], close: bool
    ) -> Appended:
        """Store the batch; the other replicas hear of it when it commits."""

        async def notify(tx: Queries) -> None:
            await self._wakeups.notify_others_in(tx, run_topic(run_id))

        give_up_at = time.monotonic() + WRITE_RETRY_LIMIT_S
        while True:
            try:
                appended = await self._store.append(
                    run_id, first, batch, close=close, also=notify
                )
            except CONNECTION_ERRORS as exc:
                # The database is away (a restart): keep the events and try again; writing them
                # twice is harmless. Past the limit the error ends this writer; the run's
                # settling writes what it holds.
                if time.monotonic() > give_up_at:
                    raise
                logger.warning(
                    "run events not stored yet run_id=%s events=%d error=%s",
                    run_id,
                    len(batch),
                    type(exc).__name__,
                )
                with self._wakeups.subscribe(run_topic(run_id)) as pause:
                    await pause.wait()
                continue
            self._wakeups.wake_local(run_topic(run_id))
            return appended


class _Writer:
    """The task that stores one run's events in the background, at most once per window."""

    def __init__(self, logs: EventLogs, run_id: str, log: EventLog, stored: int) -> None:
        self._logs = logs
        self._run_id = run_id
        self._log = log
        self.stored = stored
        self._stopping = False
        self._writing = False
        # The window starts now: what came before (the run's first event) is stored already,
        # and a run shorter than the window has its log stored whole as it ends.
        self._last_write = time.monotonic()
        self.task = asyncio.create_task(self._run(), name=f"events-{run_id}")

    async def stop(self) -> int:
        """End the task once the write under way (if any) is done; how many events are stored."""
        self._stopping = True
        if not self._writing:
            self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)
        return self.stored

    async def _run(self) -> None:
        log = self._log
        while not self._stopping:
            # Whatever came since the last write, as one batch; the close rides with the last.
            batch, closing = log.since(self.stored), log.closed
            if not batch and not closing:
                await log.changed()
                continue
            if not closing and (wait := self._last_write + BATCH_WINDOW_S - time.monotonic()) > 0:
                await log.closed_within(wait)
                continue
            self._last_write = time.monotonic()
            self._writing = True
            try:
                appended = await asyncio.shield(
                    self._logs._write_batch(self._run_id, self.stored, batch, closing)
                )
            finally:
                self._writing = False
            if appended == "gone":
                log.release()  # the run was deleted: its events go with it
                return
            if appended == "taken":
                log.abandon()
                return
            self.stored += len(batch)
            log.publish(self.stored)
            if closing:
                return
