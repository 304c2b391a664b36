"""Runs generations on a bounded pool of worker threads; sync and async consumers, both cancellable.

Decoding never runs on the caller's event loop: a worker thread drives the `Generator` and hands
each token over a queue. The async consumer wakes once per loop tick, not once per token: the
tokens that came meanwhile are taken as one batch (`astream_batches`), so a loop busy with many
streams pays its per-chunk costs once per batch rather than once per token. When the consumer
goes away (the sync iterator is closed, the async task is cancelled) the shared
`threading.Event` is set and the worker stops before its next step. At most `max_concurrent`
generations decode at once; later ones wait in the pool's queue. A `Scheduler` (the batching
scheduler) takes requests itself: it needs no worker thread per request, so the pool hands
requests straight to it and it bounds its own queue.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import queue
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol, cast, runtime_checkable

from threadloom.models.generation import Generator, SamplingParams, TokenEvent

# The longest a stream waits between batches however many streams decode at once (a reader
# sees a steady flow at ten updates a second).
MAX_INTERVAL_S = 0.1
_DONE = object()  # sentinel: the worker has finished (after its last event or error)
_Item = TokenEvent | BaseException | object


@runtime_checkable
class Scheduler(Protocol):
    """Runs requests on its own thread; `hand_over` gets tokens, an error, then None at the end."""

    def submit(
        self,
        input_ids: list[int],
        params: SamplingParams,
        cancel: threading.Event,
        hand_over: Callable[[TokenEvent | BaseException | None], None],
    ) -> Any: ...


class GenerationPool:
    """A `Generator` behind at most `max_concurrent` worker threads.

    Example:
        >>> pool = GenerationPool(TransformersGenerator(model), max_concurrent=2)
        >>> async for event in pool.astream(prompt_ids, SamplingParams(max_new_tokens=32)):
        ...     ...
    """

    def __init__(self, generator: Generator, max_concurrent: int = 1) -> None:
        if max_concurrent < 1:
            raise ValueError("max_concurrent must be at least 1")
        self.generator = generator
        # Consumers of `astream_batches` now: the interval between batches grows with them.
        self._batching = 0
        self._executor = ThreadPoolExecutor(
            max_workers=max_concurrent, thread_name_prefix="threadloom-generate"
        )

    def stream(self, input_ids: list[int], params: SamplingParams) -> Iterator[TokenEvent]:
        """Yield tokens as the worker makes them; closing the iterator stops the worker."""
        items: queue.SimpleQueue[_Item] = queue.SimpleQueue()
        cancel = threading.Event()
        self._start(input_ids, params, cancel, items.put)
        try:
            while (item := items.get()) is not _DONE:
                yield _unwrap(item)
        finally:
            cancel.set()

    async def astream(
        self, input_ids: list[int], params: SamplingParams
    ) -> AsyncIterator[TokenEvent]:
        """Async twin of `stream`: the loop only awaits a queue; cancelling stops the worker."""
        batches = self.astream_batches(input_ids, params)
        try:
            async for batch in batches:
                for event in batch:
                    yield event
        finally:
            await batches.aclose()

    async def astream_batches(
        self, input_ids: list[int], params: SamplingParams, interval_s: float = 0.0
    ) -> AsyncIterator[list[TokenEvent]]:
        """`astream`, as the tokens that came since the consumer last looked, in order; with
        `interval_s`, a batch at most that often per stream decoding at once (so the event loop
        handles about as many batches a second however many streams there are), and at least
        every `MAX_INTERVAL_S`; the first at once, the last as soon as the generation ends."""
        loop = asyncio.get_running_loop()
        handed = _HandOver(loop)
        self._start(input_ids, params, handed.cancel, handed.put)
        last_batch: float | None = None
        self._batching += 1
        try:
            while True:
                spacing = batch_spacing(interval_s, self._batching)
                if last_batch is not None and (wait := last_batch + spacing - loop.time()) > 0:
                    await handed.ended_within(wait)
                events: list[TokenEvent] = []
                for item in await handed.take():
                    if item is _DONE or isinstance(item, BaseException):
                        if events:  # the tokens before the end (or the failure) come first
                            yield events
                        _unwrap(item)  # raises the worker's failure
                        return
                    events.append(cast(TokenEvent, item))
                yield events
                last_batch = loop.time()
        finally:
            self._batching -= 1
            handed.cancel.set()

    def shutdown(self) -> None:
        """Stop accepting work; running generations finish or stop at their cancel event."""
        self._executor.shutdown(wait=False, cancel_futures=True)

    def _start(
        self,
        input_ids: list[int],
        params: SamplingParams,
        cancel: threading.Event,
        hand_over: Callable[[_Item], None],
    ) -> None:
        if isinstance(self.generator, Scheduler):
            # None marks the end for a scheduler; the consumers here wait for _DONE.
            self.generator.submit(
                input_ids, params, cancel, lambda item: hand_over(_DONE if item is None else item)
            )
        else:
            self._executor.submit(self._work, input_ids, params, cancel, hand_over)

    def _work(
        self,
        input_ids: list[int],
        params: SamplingParams,
        cancel: threading.Event,
        hand_over: Callable[[_Item], None],
    ) -> None:
        try:
            if cancel.is_set():  # cancelled while waiting for a free worker
                return
            events = self.generator.stream(input_ids, params, cancel)
            try:
                for event in events:
                    hand_over(event)
                    if cancel.is_set():
                        return
            finally:
                _close(events)
        except Exception as exc:  # the consumer re-raises it in its own thread
            hand_over(exc)
        finally:
            hand_over(_DONE)


def _unwrap(item: _Item) -> TokenEvent:
    if isinstance(item, BaseException):
        raise item
    return cast(TokenEvent, item)


def _close(events: Iterator[TokenEvent]) -> None:
    # Closing a generator runs its cleanup now, in this worker, rather than whenever it is freed.
    close = getattr(events, "close", None)
    if close is not None:
        close()


def batch_spacing(interval_s: float, streams: int) -> float:
    """The time between one stream's batches when `streams` decode at once: `interval_s` for
    each of them, so the loop's share stays the same, up to `MAX_INTERVAL_S` (never less than
    `interval_s`)."""
    return min(interval_s * streams, max(interval_s, MAX_INTERVAL_S))


class _HandOver:
    """Items from a worker thread to the event loop, one wake-up per loop tick at most.

    The worker appends and, unless a wake-up is pending already, schedules one; the loop clears
    the flag before it takes everything there is, so an item appended meanwhile either is taken
    or schedules the next wake-up. (deque appends and attribute writes are atomic under the GIL.)
    The last item (the end, or a failure) always wakes the loop, and `ended_within` too.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._items: collections.deque[_Item] = collections.deque()
        self._waking = False
        self._ready = asyncio.Event()
        self._ended = asyncio.Event()
        self.cancel = threading.Event()

    def put(self, item: _Item) -> None:
        """From the worker thread."""
        self._items.append(item)
        last = item is _DONE or isinstance(item, BaseException)
        if self._waking and not last:
            return
        self._waking = True
        try:
            self._loop.call_soon_threadsafe(self._wake, last)
        except RuntimeError:  # the loop is closed: nobody is listening any more
            self.cancel.set()

    def _wake(self, last: bool) -> None:
        self._ready.set()
        if last:
            self._ended.set()

    async def ended_within(self, timeout_s: float) -> None:
        """Wait `timeout_s`, or less if the last item comes meanwhile."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._ended.wait(), timeout_s)

    async def take(self) -> list[_Item]:
        """Every item handed over so far (at least one), oldest first."""
        while True:
            self._waking = False
            items = []
            while self._items:
                items.append(self._items.popleft())
            if items:
                return items
            self._ready.clear()
            # Checked again after clearing: an item that set `_ready` just before is not lost.
            if not self._items:
                await self._ready.wait()
