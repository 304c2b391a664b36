"""One active run per thread, the others waiting their turn in arrival order.

This is the in-process form of the rule; with several replicas (PostgreSQL) a lease row in the
database takes its place behind the same `admit` / `wait_turn` / `release` calls.
"""

from __future__ import annotations

import asyncio
from collections import Counter


class ThreadQueue:
    """Counts the runs admitted per thread and hands out turns one at a time."""

    def __init__(self) -> None:
        self._turns: dict[str, asyncio.Lock] = {}
        self._admitted: Counter[str] = Counter()

    def admitted(self, thread_id: str) -> int:
        """Runs admitted on the thread and not yet released (running or waiting)."""
        return self._admitted[thread_id]

    def admit(self, thread_id: str) -> Ticket:
        """Register a run; synchronous, so a check of `admitted` just before cannot go stale."""
        self._admitted[thread_id] += 1
        return Ticket(self, thread_id, self._turns.setdefault(thread_id, asyncio.Lock()))

    def _release(self, thread_id: str) -> None:
        self._admitted[thread_id] -= 1
        if self._admitted[thread_id] <= 0:
            del self._admitted[thread_id]
            self._turns.pop(thread_id, None)


class Ticket:
    """A run's place in its thread's queue."""

    def __init__(self, queue: ThreadQueue, thread_id: str, turn: asyncio.Lock) -> None:
        self._queue = queue
        self._thread_id = thread_id
        self._turn = turn
        self._holding = False
        self._released = False

    async def wait_turn(self) -> None:
        """Wait until every run admitted before this one on the thread has been released."""
        await self._turn.acquire()
        self._holding = True

    def release(self) -> None:
        """Give up the turn (or the place in line); safe to call more than once."""
        if self._released:
            return
        self._released = True
        if self._holding:
            self._holding = False
            self._turn.release()
        self._queue._release(self._thread_id)
