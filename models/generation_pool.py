"""Runs generations on a bounded pool of worker threads; sync and async consumers, both cancellable.

Decoding never runs on the caller's event loop: a worker thread drives the `Generator` and hands
each token over a queue. When the consumer goes away (the sync iterator is closed, the async task
is cancelled) the shared `threading.Event` is set and the worker stops before its next step.
At most `max_concurrent` generations decode at once; later ones wait in the pool's queue.
A `Scheduler` (the batching scheduler) takes requests itself: it needs no worker thread per
request, so the pool hands requests straight to it and it bounds its own queue.
"""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol, cast, runtime_checkable

from threadloom.models.generation import Generator, SamplingParams, TokenEvent

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
        loop = asyncio.get_running_loop()
        items: asyncio.Queue[_Item] = asyncio.Queue()
        cancel = threading.Event()

        def hand_over(item: _Item) -> None:
            try:
                loop.call_soon_threadsafe(items.put_nowait, item)
            except RuntimeError:  # the loop is closed: nobody is listening any more
                cancel.set()

        self._start(input_ids, params, cancel, hand_over)
        try:
            while (item := await items.get()) is not _DONE:
                yield _unwrap(item)
        finally:
            cancel.set()

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
