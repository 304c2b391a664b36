"""Wake-ups by topic: how a waiter learns that the database has something new for it.

A waiter subscribes to a topic (`thread:<id>`: a run on the thread ended; `run:<id>`: the run
logged events; `admitted:<id>`: a run was admitted on the thread), checks the database, and waits
for a wake-up or `poll_interval_s`, whichever comes first, before checking again. Publishing
wakes this process's waiters at once; the Postgres form (`PostgresWakeups`) also sends the
topic to other replicas with NOTIFY. Polling is what remains when a notification is lost (a
dropped connection, or SQLite, which has none).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager, suppress

from threadloom.service.storage.database import Queries

THREAD_TOPIC = "thread:"
RUN_TOPIC = "run:"
ADMITTED_TOPIC = "admitted:"
CANCEL_TOPIC = "cancel"


def thread_topic(thread_id: str) -> str:
    return THREAD_TOPIC + thread_id


def run_topic(run_id: str) -> str:
    return RUN_TOPIC + run_id


def admitted_topic(thread_id: str) -> str:
    return ADMITTED_TOPIC + thread_id


class Subscription:
    """A waiter's flag: set by a wake-up, cleared by `wait`, so no wake-up in between is lost."""

    def __init__(self, poll_interval_s: float) -> None:
        self._woken = asyncio.Event()
        self._poll_interval_s = poll_interval_s

    def wake(self) -> None:
        self._woken.set()

    async def wait(self, timeout_s: float | None = None) -> None:
        """Return at the next wake-up (or at once if one came since the last wait), or after
        `timeout_s` (by default the poll interval)."""
        with suppress(TimeoutError):
            await asyncio.wait_for(self._woken.wait(), timeout_s or self._poll_interval_s)
        self._woken.clear()


class Wakeups:
    """Wake-ups within this process; enough for SQLite, where this process is the only writer."""

    def __init__(self, poll_interval_s: float) -> None:
        self.poll_interval_s = poll_interval_s
        self._subscribers: dict[str, set[Subscription]] = {}

    @contextmanager
    def subscribe(self, topic: str) -> Iterator[Subscription]:
        """Subscribe before checking the database, so a change made meanwhile still wakes."""
        subscription = Subscription(self.poll_interval_s)
        self._subscribers.setdefault(topic, set()).add(subscription)
        try:
            yield subscription
        finally:
            subscribers = self._subscribers[topic]
            subscribers.discard(subscription)
            if not subscribers:
                del self._subscribers[topic]

    async def publish(self, topic: str) -> None:
        """Wake the topic's waiters, here and in the other replicas."""
        self.wake_local(topic)
        await self.notify_others(topic)

    async def notify_others(self, topic: str) -> None:
        """Wake the topic's waiters in the other replicas (there are none here)."""

    async def notify_others_in(self, tx: Queries, topic: str) -> None:
        """`notify_others` when `tx` commits, as one of its statements (no transaction of its
        own); nothing if it rolls back."""

    def wake_local(self, topic: str) -> None:
        for subscription in self._subscribers.get(topic, ()):
            subscription.wake()

    def wake_all(self) -> None:
        """Wake every waiter: what to do when wake-ups may have been missed."""
        for subscribers in self._subscribers.values():
            for subscription in subscribers:
                subscription.wake()

    async def aclose(self) -> None:
        """Stop receiving wake-ups from elsewhere (nothing to stop here)."""
