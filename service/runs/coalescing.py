"""`MessageCoalescer`: a run's consecutive message chunks become one event per interval.

Whatever model streams (local, remote, a user's own), each chunk it yields would otherwise be an
event of its own: encoded, logged, stored and written to every stream following the run, at a
cost per event whatever its length. Consecutive `messages` chunks of one message (same event
name, same message id, same metadata) are held instead and sent as one chunk, their
concatenation (LangChain's `+`, as the SDKs concatenate them by id), at most every `interval_s`;
the first chunk after a pause goes out at once (time to first token), and any other event sends
what is held first, so the order never changes. For the older `messages` framing, whose
`messages/partial` events each carry the whole message so far, the latest partial stands for
the ones it follows.

Clients see the same message (same id, same content, same order of events), in fewer events.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from langchain_core.messages import BaseMessageChunk

Emit = Callable[[str, Any], None]


class MessageCoalescer:
    """Feeds `(event name, data)` pairs to `emit`, message chunks merged per `interval_s`."""

    def __init__(self, emit: Emit, interval_s: float) -> None:
        self._emit = emit
        self._interval_s = interval_s
        self._name = ""
        self._held: list[Any] = []  # chunks (messages-tuple) or the latest partial (messages)
        self._metadata: Any = None
        self._last_sent = -interval_s
        self._timer: asyncio.TimerHandle | None = None

    def add(self, name: str, data: Any) -> None:
        """Take one event of the run, in order."""
        key = _merge_key(name, data)
        if key is None:
            self.flush()
            self._emit(name, data)
            return
        if self._held and key == self._key():
            self._hold(name, data)
            return
        self.flush()
        if time.monotonic() - self._last_sent >= self._interval_s:
            self._send(name, data)
            return
        self._hold(name, data)
        wait_s = self._last_sent + self._interval_s - time.monotonic()
        self._timer = asyncio.get_running_loop().call_later(max(wait_s, 0.0), self.flush)

    def flush(self) -> None:
        """Send what is held now (also at the end of the run)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if not self._held:
            return
        held, self._held = self._held, []
        name = self._name
        if _is_tuple_event(name):
            merged = held[0] if len(held) == 1 else held[0] + held[1:]
            self._send(name, (merged, self._metadata))
        else:
            self._send(name, held[-1])

    def _hold(self, name: str, data: Any) -> None:
        self._name = name
        if _is_tuple_event(name):
            self._held.append(data[0])
            self._metadata = data[1]
        else:
            self._held = [data]

    def _key(self) -> tuple[str, Any, int] | None:
        name = self._name
        if _is_tuple_event(name):
            return name, self._held[0].id, id(self._metadata)
        return name, self._held[-1][0].id, 0

    def _send(self, name: str, data: Any) -> None:
        self._last_sent = time.monotonic()
        self._emit(name, data)


def _is_tuple_event(name: str) -> bool:
    return name.partition("|")[0] == "messages"


def _merge_key(name: str, data: Any) -> tuple[str, Any, int] | None:
    """What a chunk must share with the held ones to be merged with them; None: never held."""
    mode = name.partition("|")[0]
    if mode == "messages":
        message, metadata = data
        if isinstance(message, BaseMessageChunk) and message.id is not None:
            return name, message.id, id(metadata)
    elif mode == "messages/partial":
        message = data[0]
        if message.id is not None:
            return name, message.id, 0
    return None
