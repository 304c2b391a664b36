"""Continuous batching: one thread owns the model and decodes every running request per step.

Between two decoding steps, waiting requests join (their prompt is prefilled alone, then its KV
cache becomes a new row of the batch) and finished or cancelled ones leave; the requests still
running carry on in the same batch. Each step is one forward pass over one new token per row,
and each row picks its token with its own sampling settings (greedy, temperature, top_p, seed).
At most `max_batch_size` requests decode together and `max_queue` more wait; past that, `submit`
raises `GenerationBusyError` at once instead of letting callers queue without bound.

With a prefix cache (`prefix_cache_bytes` > 0), a joining request starts from the kept keys and
values of the longest token prefix it shares with a finished sequence and prefills only the rest;
a sequence that leaves (finished or cancelled, not failed) keeps its keys and values there. A
row's cache only ever changes by whole forward passes and cancellation is seen between them, so
what is kept always covers exactly the tokens that were run, never a half-written step.
"""

from __future__ import annotations

import atexit
import itertools
import logging
import queue
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import torch
from transformers import DynamicCache

from threadloom.models.batch_cache import BatchCache
from threadloom.models.batch_sequence import BatchSequence, HandOver, ScheduledRequest
from threadloom.models.errors import GenerationBusyError, GenerationError
from threadloom.models.generation import (
    SamplingParams,
    TokenEvent,
    TransformersGenerator,
)
from threadloom.models.generation_stats import GenerationStats
from threadloom.models.prefix_cache import LayerKV, PrefixCache

logger = logging.getLogger(__name__)

# A cached prefix is used only when it covers at least this share of the prompt. Prefilling past
# a cache cannot take attention's plain causal path (the query is shorter than the keys): on CPU
# each token costs about twice as much, so a shorter prefix would make the first token later.
MIN_REUSED_SHARE = 0.5

"""Receives a request's tokens, then its error if it failed, then None when it has ended."""

# Every scheduler of this process, for metrics: the model (and its scheduler) is a fact of the
# process, which any app in it may report; a scheduler that is dropped leaves the set.
_SCHEDULERS: weakref.WeakSet[BatchScheduler] = weakref.WeakSet()


def live_schedulers() -> list[BatchScheduler]:
    """The batching schedulers of this process (for a metrics collector to read)."""
    return list(_SCHEDULERS)


@dataclass(frozen=True)
class StepReport:
    """What one scheduler step did, for metrics and for tests that follow the batch."""

    step: int
    batch: tuple[int, ...]  # ids of the requests decoded together in this step
    joined: tuple[int, ...]
    left: tuple[int, ...]  # finished, cancelled or failed in this step
    waiting: int
    prefilled: int = 0  # prompt tokens run through the model for the requests admitted
    reused: int = 0  # prompt tokens of those requests taken from the prefix cache instead


class BatchScheduler:
    """A `Generator` that shares forward passes between concurrent requests.

    Example:
        >>> scheduler = BatchScheduler(model, max_batch_size=8, max_queue=64)
        >>> for event in scheduler.stream(prompt_ids, SamplingParams(), threading.Event()):
        ...     print(event.token_id)
    """

    def __init__(
        self,
        model: Any,
        *,
        max_batch_size: int = 8,
        max_queue: int = 64,
        on_step: Callable[[StepReport], None] | None = None,
        prefix_cache_bytes: int = 0,
        name: str = "local",
    ) -> None:
        if max_batch_size < 1:
            raise ValueError(f"max_batch_size must be at least 1, got {max_batch_size}")
        if max_queue < 0:
            raise ValueError(f"max_queue must be 0 or more, got {max_queue}")
        self._engine = TransformersGenerator(model)
        self.model = model
        self.max_positions = self._engine.max_positions
        self.eos_token_ids = self._engine.eos_token_ids
        self.max_batch_size = max_batch_size
        self.max_queue = max_queue
        self.on_step = on_step
        self.name = name  # the model's name, as metrics label it
        self.steps = 0  # scheduler steps taken so far
        self.prefix_cache = PrefixCache(prefix_cache_bytes) if prefix_cache_bytes > 0 else None
        self.stats = GenerationStats()
        self._emitted = 0  # tokens handed over, read once per step into `stats`
        self._ids = itertools.count(1)
        self._lock = threading.Condition()
        self._waiting: deque[BatchSequence] = deque()
        self._in_flight = 0  # waiting + decoding, counted under the lock
        self._stopped = False
        self._thread: threading.Thread | None = None
        # Owned by the scheduler thread only.
        self._active: list[BatchSequence] = []
        self._batch = BatchCache()
        _SCHEDULERS.add(self)

    @property
    def batch_size(self) -> int:
        """Requests decoding together now."""
        return len(self._active)

    @property
    def queue_depth(self) -> int:
        """Requests waiting for a batch slot now."""
        return len(self._waiting)

    def submit(
        self,
        input_ids: list[int],
        params: SamplingParams,
        cancel: threading.Event,
        hand_over: HandOver,
    ) -> ScheduledRequest:
        """Queue a request; `hand_over` is called from the scheduler thread with its results.

        Raises:
            GenerationBusyError: every batch slot and queue place is taken.
            GenerationError: the prompt is empty or longer than the model reads.
        """
        budget = self._engine.token_budget(len(input_ids), params.max_new_tokens)
        with self._lock:
            if self._stopped:
                raise GenerationError(
                    "The generation scheduler has been shut down; load the model again."
                )
            if self._in_flight >= self.max_batch_size + self.max_queue:
                raise GenerationBusyError(
                    f"The model is busy: {self.max_batch_size} requests are decoding and "
                    f"{self.max_queue} are queued, the queue limit (max_queue). Retry later."
                )
            request = ScheduledRequest(next(self._ids), cancel)
            self._waiting.append(
                BatchSequence(request, input_ids, params, budget, self.eos_token_ids, hand_over)
            )
            self._in_flight += 1
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="threadloom-batch", daemon=True
                )
                self._thread.start()
                # A torch thread still alive while the interpreter finalises aborts the process.
                atexit.register(self._stop_at_exit)
            self._lock.notify()
        return request

    def stream(
        self, input_ids: list[int], params: SamplingParams, cancel: threading.Event
    ) -> Iterator[TokenEvent]:
        """The `Generator` protocol: blocks this thread on the request's tokens."""
        items: queue.SimpleQueue[TokenEvent | BaseException | None] = queue.SimpleQueue()
        request = self.submit(input_ids, params, cancel, items.put)
        try:
            while (item := items.get()) is not None:
                if isinstance(item, BaseException):
                    raise item
                if cancel.is_set():
                    return
                yield item
        finally:
            request.cancel()

    def shutdown(self) -> None:
        """Stop after the current step; requests still queued or decoding get a GenerationError."""
        with self._lock:
            self._stopped = True
            self._lock.notify()

    def _stop_at_exit(self) -> None:
        self.shutdown()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _run(self) -> None:
        while True:
            with self._lock:
                while not (self._waiting or self._active or self._stopped):
                    self._lock.wait()
                if self._stopped:
                    break
                free = self.max_batch_size - len(self._active)
                joining = [self._waiting.popleft() for _ in range(min(free, len(self._waiting)))]
            try:
                with torch.inference_mode():
                    self._step(joining)
            except Exception as exc:  # a batched forward failed: no one row is to blame
                logger.exception("batch step failed rows=%d", len(self._active))
                failed = GenerationError(f"Generation failed: {exc}")
                self._leave([*self._active, *joining], failed)
        stopped = GenerationError("The generation scheduler was shut down; retry the request.")
        with self._lock:
            waiting = list(self._waiting)
            self._waiting.clear()
        self._leave([*self._active, *waiting], stopped)

    def _step(self, joining: list[BatchSequence]) -> None:
        started, emitted = time.perf_counter(), self._emitted
        left = [seq for seq in self._active if seq.request.cancelled]
        self._leave(left)
        joined: list[BatchSequence] = []
        prefilled = reused = 0
        for seq in joining:
            if seq.request.cancelled:
                self._leave([seq])
                left.append(seq)
            else:
                cache = self._prefill(seq)
                prefilled += seq.prefilled
                reused += seq.reused
                if cache is None:
                    left.append(seq)
                    continue
                self._batch.add(cache)
                self._active.append(seq)
                joined.append(seq)
        batch = list(self._active)
        if batch:
            left.extend(self._decode())
        self.stats.record_step(
            self._emitted - emitted,
            time.perf_counter() - started,
            idle_after=not (self._active or self._waiting),
        )
        self.steps += 1
        if self.on_step is not None:
            self._report(self.on_step, batch, joined, left, prefilled, reused)

    def _prefill(self, seq: BatchSequence) -> DynamicCache | None:
        """Run the prompt alone (past its cached prefix); the first token, and the cache if the
        request goes on."""
        try:
            past, start = self._cached_prefix(seq)
            output = self.model(
                input_ids=seq.ids[:, start : seq.length].to(self.model.device),
                past_key_values=past,
                use_cache=True,
                **self._engine.forward_options,
            )
            seq.reused, seq.prefilled = start, seq.length - start
            token = seq.choose(output.logits[:, -1, :])
        except Exception as exc:  # this prompt cannot be run; the batch goes on without it
            logger.warning("prefill failed request=%d error=%s", seq.request.id, exc)
            self._leave([seq], GenerationError(f"Generation failed: {exc}"))
            return None
        cache = output.past_key_values
        if not self._emit(seq, token):
            self._remember(seq, tuple((layer.keys, layer.values) for layer in cache.layers))
            self._leave([seq])
            return None
        return cache

    def _cached_prefix(self, seq: BatchSequence) -> tuple[DynamicCache | None, int]:
        """The cache of the longest kept prefix of the prompt, and its length (0: none)."""
        if self.prefix_cache is None:
            return None, 0
        # One prompt token at least is run: its logits give the first new token.
        hit = self.prefix_cache.lookup(seq.ids[0, : seq.length], limit=seq.length - 1)
        if hit is None or hit.length < MIN_REUSED_SHARE * seq.length:
            return None, 0
        # DynamicCache copies the tensors it is given, so the kept entry is never written to.
        return DynamicCache(ddp_cache_data=hit.layers, config=self.model.config), hit.length

    def _remember(self, seq: BatchSequence, layers: tuple[LayerKV, ...]) -> None:
        """Keep a leaving sequence's keys and values for the requests that share its prefix."""
        if self.prefix_cache is None or not layers:
            return
        covered = layers[0][0].shape[-2]  # the last token chosen was never run through the model
        self.prefix_cache.store(seq.ids[0, :covered].clone(), layers)

    def _decode(self) -> list[BatchSequence]:
        """One forward pass for every row; returns the rows that ended."""
        last = [[seq.last_token] for seq in self._active]
        output = self.model(
            input_ids=torch.tensor(last, dtype=torch.long, device=self.model.device),
            use_cache=True,
            **self._batch.step_inputs(),
            **self._engine.forward_options,
        )
        logits = output.logits[:, -1, :]
        greedy = logits.float().argmax(dim=-1).tolist()
        ended: list[BatchSequence] = []
        failed: list[tuple[BatchSequence, Exception]] = []
        for row, seq in enumerate(self._active):
            try:
                token = greedy[row] if seq.plain_greedy else seq.choose(logits[row : row + 1])
            except Exception as exc:  # this request's sampling failed; the others go on
                failed.append((seq, exc))
                continue
            if not self._emit(seq, token):
                ended.append(seq)
        self._leave(ended)
        for seq, exc in failed:
            self._leave([seq], GenerationError(f"Sampling failed: {exc}"))
        return [*ended, *(seq for seq, _ in failed)]

    def _emit(self, seq: BatchSequence, token: int) -> bool:
        """Hand `token` over; whether the request goes on decoding."""
        finish = seq.add(token)
        self._emitted += 1
        try:
            seq.hand_over(TokenEvent(token, finish))
        except Exception:  # the consumer is gone: treat it as a cancellation
            logger.warning("token consumer failed request=%d", seq.request.id, exc_info=True)
            return False
        return finish is None

    def _leave(self, seqs: list[BatchSequence], error: BaseException | None = None) -> None:
        """End these requests: drop them from the batch and tell their consumers."""
        if not seqs:
            return
        if error is None and self.prefix_cache is not None:
            for row, seq in enumerate(self._active):
                if seq in seqs:
                    self._remember(seq, self._batch.row(row))
        rows = [row for row, seq in enumerate(self._active) if seq not in seqs]
        if len(rows) < len(self._active):
            self._batch.keep(rows)
            self._active = [self._active[row] for row in rows]
        closed = sum(seq.close(error) for seq in seqs)
        with self._lock:
            self._in_flight -= closed

    def _report(
        self,
        hook: Callable[[StepReport], None],
        batch: list[BatchSequence],
        joined: list[BatchSequence],
        left: list[BatchSequence],
        prefilled: int,
        reused: int,
    ) -> None:
        with self._lock:
            waiting = len(self._waiting)
        report = StepReport(
            step=self.steps,
            batch=tuple(seq.request.id for seq in batch),
            joined=tuple(seq.request.id for seq in joined),
            left=tuple(seq.request.id for seq in left),
            waiting=waiting,
            prefilled=prefilled,
            reused=reused,
        )
        try:
            hook(report)
        except Exception:
            logger.warning("on_step hook failed step=%d", report.step, exc_info=True)
