"""One active run per thread across every replica on the database; the others wait in order.

The run rows are the queue (see `service.storage.runs`): a run is admitted as a pending row
leased to this replica, takes its turn by becoming its thread's one running row, and gives the
turn back by ending. A run admitted on a thread with nothing else to run is written as running
at once (`Ticket.holds_turn`). A waiting ticket re-checks when its thread's wake-up comes (from this
process at once; from other replicas by NOTIFY on Postgres) or after the poll interval.

While a ticket is held, this replica renews the run's lease (`renew_leases`), and a cancel
request stored by any replica, or the run being taken over by another, cancels the run's task.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from threadloom.service.errors import server_draining
from threadloom.service.storage.database import Queries
from threadloom.service.storage.records import RunRecord
from threadloom.service.storage.runs import Runs
from threadloom.service.storage.wakeups import (
    CANCEL_TOPIC,
    Subscription,
    Wakeups,
    admitted_topic,
    run_topic,
    thread_topic,
)

logger = logging.getLogger(__name__)


class RunQueue:
    """Admits runs on threads and hands out turns, one running run per thread."""

    def __init__(self, runs: Runs, wakeups: Wakeups) -> None:
        self._runs = runs
        self._wakeups = wakeups
        self._tickets: dict[str, Ticket] = {}
        self._admitting = True
        self._idle = asyncio.Event()
        self._idle.set()
        self._background: set[asyncio.Task[None]] = set()

    async def busy(self, thread_id: str, besides: str | None = None) -> bool:
        """Whether a run on the thread (other than `besides`) is admitted and not finished,
        on any replica."""
        if await self._runs.has_unfinished(thread_id, besides):
            return True
        # Checked after the await, with no await before the caller's `admit`: a run admitted
        # here meanwhile (whose row may not be written yet) counts too.
        return any(
            ticket.thread_id == thread_id and ticket.run_id != besides
            for ticket in self._tickets.values()
        )

    def admit(self, thread_id: str, run_id: str) -> Ticket:
        """Register the run (its row is written next, pending); 503 once the server drains."""
        if not self._admitting:
            raise server_draining()
        ticket = self._tickets[run_id] = Ticket(self, thread_id, run_id)
        self._idle.clear()
        return ticket

    def announce(self, thread_id: str) -> None:
        """Tell this process's `admissions` waiters that a run's row on the thread is written."""
        self._wakeups.wake_local(admitted_topic(thread_id))

    @contextmanager
    def admissions(self, thread_id: str) -> Iterator[Subscription]:
        """Wait for runs admitted on the thread: at once for this replica's, by polling for
        other replicas' (a NOTIFY per run would cost every run a round trip)."""
        with self._wakeups.subscribe(admitted_topic(thread_id)) as admitted:
            yield admitted

    async def cancel(self, thread_id: str, run_ids: Sequence[str] | None = None) -> None:
        """Ask the replicas holding the thread's unfinished runs (all, or `run_ids`) to cancel
        them; the owners' `renew_leases` acts on it."""
        if await self._runs.request_cancel(thread_id, run_ids):
            await self._wakeups.publish(CANCEL_TOPIC)

    async def ended_elsewhere(self, thread_id: str) -> None:
        """A run on the thread was settled for a replica that stopped: its next run, on any
        replica, may take its turn now."""
        await self._wakeups.publish(thread_topic(thread_id))

    async def announce_end_in(self, tx: Queries, thread_id: str) -> None:
        """Tell the other replicas, when `tx` commits, that a run on the thread has ended (the
        run's ticket is then released with `announced`)."""
        await self._wakeups.notify_others_in(tx, thread_topic(thread_id))

    def cancel_soon(self, thread_id: str, run_ids: Sequence[str] | None = None) -> None:
        """`cancel`, from code that cannot wait for the database."""
        self._in_background(self.cancel(thread_id, run_ids))

    async def wait_ended(self, thread_id: str, run_id: str) -> RunRecord | None:
        """Wait until the run (executed here or elsewhere) is no longer pending or running;
        returns its record, or None if it does not exist."""
        with self._wakeups.subscribe(run_topic(run_id)) as woken:
            while True:
                record = await self._runs.get(thread_id, run_id)
                if record is None or record.status not in ("pending", "running"):
                    return record
                await woken.wait()

    async def renew_leases(self) -> None:
        """Extend the leases of the runs held here; cancel those that were asked to stop, or that
        another replica settled because this one looked stopped."""
        # A ticket whose admission has not committed yet has no row to renew (and must not be
        # taken for a run that another replica deleted or took over).
        held = [run_id for run_id, ticket in self._tickets.items() if ticket.has_row]
        for lease in await self._runs.renew(held):
            ticket = self._tickets.get(lease.run_id)
            if ticket is None:
                continue
            if lease.lost(self._runs.owner):
                logger.warning("run lease lost run_id=%s; cancelling it here", lease.run_id)
                ticket.cancel_run()
            elif lease.cancel_requested and lease.status in ("pending", "running"):
                ticket.cancel_run()

    @property
    def admitting(self) -> bool:
        return self._admitting

    def stop_admitting(self) -> None:
        """Refuse new runs from now on (the server is draining)."""
        self._admitting = False

    async def wait_idle(self, timeout_s: float) -> bool:
        """Wait until every run admitted here has ended; False if some remain after
        `timeout_s`."""
        try:
            await asyncio.wait_for(self._idle.wait(), timeout_s)
        except TimeoutError:
            return False
        return True

    async def aclose(self) -> None:
        """Finish sending wake-ups and cancel requests."""
        await asyncio.gather(*self._background, return_exceptions=True)

    async def _take_turn(self, ticket: Ticket) -> None:
        with self._wakeups.subscribe(thread_topic(ticket.thread_id)) as woken:
            while not await self._runs.claim_turn(ticket.run_id):
                await woken.wait()

    def _release(self, ticket: Ticket, announced: bool) -> None:
        self._tickets.pop(ticket.run_id, None)
        if not self._tickets:
            self._idle.set()
        # The next run on the thread, here or elsewhere, may take its turn now.
        topic = thread_topic(ticket.thread_id)
        self._wakeups.wake_local(topic)
        if not announced:
            self._in_background(self._wakeups.notify_others(topic))

    def _in_background(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self._background.add(task)
        task.add_done_callback(self._background.discard)


class Ticket:
    """A run's place in its thread's queue."""

    def __init__(self, queue: RunQueue, thread_id: str, run_id: str) -> None:
        self._queue = queue
        self.thread_id = thread_id
        self.run_id = run_id
        self._task: asyncio.Task | None = None
        self._released = False
        self._cancelled = False
        # Admitted as its thread's running run: its turn has come already.
        self.holds_turn = False
        # The run's row is committed (and leased to this replica).
        self.has_row = False

    def recorded(self, *, holds_turn: bool = False) -> None:
        """The run's row is committed: from now on its lease is renewed; `holds_turn` if it
        was written as its thread's running run."""
        self.has_row = True
        self.holds_turn = holds_turn

    async def wait_turn(self) -> None:
        """Wait until the run is its thread's running run (every run admitted before it on the
        thread, on any replica, has ended).

        Await it in the task that executes the run: a cancel request for the run, from any
        replica, cancels that task.
        """
        self._task = asyncio.current_task()
        if not self.holds_turn:
            await self._queue._take_turn(self)
            self.holds_turn = True

    def release(self, *, announced: bool = False) -> None:
        """Give up the turn (or the place in line) once the run's end is recorded (and, if
        `announced`, made known to the other replicas); safe to call more than once."""
        if not self._released:
            self._released = True
            self._queue._release(self, announced)

    def cancel_run(self) -> None:
        """Cancel the run's task (once: a cancel request stays stored until the run ends)."""
        if self._task is not None and not self._task.done() and not self._cancelled:
            self._cancelled = True
            self._task.cancel()
