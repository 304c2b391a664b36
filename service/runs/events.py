"""The events of one run, kept in order so that any number of readers can follow them live."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RunEvent:
    """One SSE event: its name (`values`, `messages`, `updates|ns`, ...) and JSON data."""

    name: str
    data: bytes


class EventLog:
    """Append-only log of a run's events; readers start at any index and wait for more.

    Keeping every event (rather than handing each to one queue) is what lets a stream that
    joins late, or reconnects with `Last-Event-ID`, replay what it missed.
    """

    def __init__(self) -> None:
        self._events: list[RunEvent] = []
        self._closed = False
        self._changed = asyncio.Event()

    def __len__(self) -> int:
        return len(self._events)

    def append(self, event: RunEvent) -> None:
        if self._closed:
            raise RuntimeError("The run's event log is closed; nothing may be added after it.")
        self._events.append(event)
        self._wake()

    def close(self) -> None:
        """Mark the end of the run: readers finish once they have read everything."""
        self._closed = True
        self._wake()

    async def follow(self, start: int = 0) -> AsyncIterator[tuple[int, RunEvent]]:
        """Yield `(index, event)` from `start` on, waiting for new events until the log closes."""
        index = start
        while True:
            while index < len(self._events):
                yield index, self._events[index]
                index += 1
            if self._closed:
                return
            # No await between the length check and taking the signal, so no wake is missed.
            await self._changed.wait()

    def _wake(self) -> None:
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()
