"""The continuous-batching scheduler on the tiny random Llama: same tokens as decoding alone,
requests joining and leaving between steps, cancellation, the queue bound, failures kept apart.

Steps are followed through the scheduler's `on_step` hook, which runs on the scheduler thread
between two steps: submitting or cancelling from it happens at an exact step, with no sleeps.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from threadloom.models.batching import BatchScheduler, StepReport
from threadloom.models.errors import GenerationBusyError, GenerationError
from threadloom.models.generation import SamplingParams, TokenEvent, TransformersGenerator
from threadloom.models.generation_pool import GenerationPool
from threadloom.models.local import LocalChatModel

TEXTS = [
    "Hi",
    "Tell me a story about the calculator and the search tool, please",
    "What is 25^0.43?",
    "Tell me a story",
]


class Collector:
    """A request's hand-over: its tokens, its error, and an event set when it has ended."""

    def __init__(self) -> None:
        self.events: list[TokenEvent] = []
        self.error: BaseException | None = None
        self.done = threading.Event()

    def __call__(self, item: TokenEvent | BaseException | None) -> None:
        if item is None:
            self.done.set()
        elif isinstance(item, BaseException):
            self.error = item
        else:
            self.events.append(item)

    @property
    def tokens(self) -> list[int]:
        return [event.token_id for event in self.events]

    def wait(self) -> Collector:
        assert self.done.wait(60), "the request never ended"
        return self


@pytest.fixture
def make_scheduler(
    tiny_chat_model: LocalChatModel,
) -> Iterator[Callable[..., BatchScheduler]]:
    """Factory of schedulers over the tiny model; each is shut down after the test."""
    made: list[BatchScheduler] = []

    def make(**options: Any) -> BatchScheduler:
        scheduler = BatchScheduler(tiny_chat_model.generator.model, **options)
        made.append(scheduler)
        return scheduler

    yield make
    for scheduler in made:
        scheduler.shutdown()


class StepLog:
    """Records the scheduler's step reports; `until_left` waits for a request's last report."""

    def __init__(self, then: Callable[[StepReport], None] = lambda report: None) -> None:
        self.reports: list[StepReport] = []
        self.then = then
        self._changed = threading.Condition()

    def __call__(self, report: StepReport) -> None:
        with self._changed:
            self.reports.append(report)
            self._changed.notify_all()
        self.then(report)

    def until_left(self, *request_ids: int) -> list[StepReport]:
        def gone() -> bool:
            return set(request_ids) <= {i for report in self.reports for i in report.left}

        with self._changed:
            assert self._changed.wait_for(gone, 60), "the requests never left the batch"
            return list(self.reports)


def _ids(model: LocalChatModel, text: str) -> list[int]:
    return model.tokenizer(text, add_special_tokens=False)["input_ids"]


def _alone(model: LocalChatModel, ids: list[int], params: SamplingParams) -> list[int]:
    """The tokens the one-request engine decodes for `ids`: the reference for batched output."""
    engine = TransformersGenerator(model.generator.model)
    return [event.token_id for event in engine.stream(ids, params, threading.Event())]


def test_greedy_batched_tokens_equal_decoding_alone(
    tiny_chat_model: LocalChatModel, make_scheduler: Callable[..., BatchScheduler]
) -> None:
    prompts = [_ids(tiny_chat_model, text) for text in TEXTS]
    assert len({len(ids) for ids in prompts}) == len(prompts)  # all lengths differ
    params = [SamplingParams(max_new_tokens=n) for n in (30, 10, 25, 18)]
    join_after_step = {1: 2, 2: 5, 3: 9}  # prompt index -> step after which it is submitted
    collectors = [Collector() for _ in prompts]

    def submit(index: int) -> None:
        scheduler.submit(prompts[index], params[index], threading.Event(), collectors[index])

    def join(report: StepReport) -> None:
        for index, step in join_after_step.items():
            if report.step == step:
                submit(index)

    log = StepLog(then=join)
    scheduler = make_scheduler(on_step=log)
    submit(0)
    reports = log.until_left(1, 2, 3, 4)
    for index, collector in enumerate(collectors):
        assert collector.wait().error is None
        assert collector.tokens == _alone(tiny_chat_model, prompts[index], params[index])
        assert collector.events[-1].finish_reason == "length"
    joined_at = {rid: r.step for r in reports for rid in r.joined}
    assert sorted(joined_at.values()) == [1, 3, 6, 10]  # each joined on the step after its submit
    assert max(len(r.batch) for r in reports) >= 3
    # The 10-token request (id 2) left while longer ones were still decoding.
    left_at = {rid: r.step for r in reports for rid in r.left}
    assert left_at[2] < left_at[1]


def test_request_joins_while_another_decodes_and_leaves_first(
    tiny_chat_model: LocalChatModel, make_scheduler: Callable[..., BatchScheduler]
) -> None:
    long, short = Collector(), Collector()
    prompt = _ids(tiny_chat_model, TEXTS[1])

    def join(report: StepReport) -> None:
        if report.step == 3:
            scheduler.submit(prompt, SamplingParams(max_new_tokens=4), threading.Event(), short)

    log = StepLog(then=join)
    scheduler = make_scheduler(on_step=log)
    scheduler.submit(prompt, SamplingParams(max_new_tokens=40), threading.Event(), long)
    reports = log.until_left(1, 2)
    assert reports[3] == StepReport(
        step=4, batch=(1, 2), joined=(2,), left=(), waiting=0, prefilled=len(prompt)
    )
    short_left = next(r.step for r in reports if 2 in r.left)
    long_left = next(r.step for r in reports if 1 in r.left)
    assert short_left < long_left
    assert all(r.batch == (1,) for r in reports if r.step > short_left)
    assert len(long.tokens) == 40 and len(short.tokens) == 4


def test_cancelled_request_leaves_at_the_next_step_and_others_go_on(
    tiny_chat_model: LocalChatModel, make_scheduler: Callable[..., BatchScheduler]
) -> None:
    prompts = [_ids(tiny_chat_model, text) for text in TEXTS[:3]]
    params = SamplingParams(max_new_tokens=20)
    collectors = [Collector() for _ in prompts]
    cancels = [threading.Event() for _ in prompts]
    tokens_when_cancelled: list[int] = []

    def cancel_second(report: StepReport) -> None:
        if len(collectors[1].tokens) >= 3 and not cancels[1].is_set():
            tokens_when_cancelled.append(len(collectors[1].tokens))
            cancels[1].set()

    log = StepLog(then=cancel_second)
    scheduler = make_scheduler(on_step=log)
    requests = [
        scheduler.submit(ids, params, cancel, collector)
        for ids, cancel, collector in zip(prompts, cancels, collectors, strict=True)
    ]
    reports = log.until_left(*(request.id for request in requests))
    for collector in collectors:
        assert collector.wait().error is None
    assert len(collectors[1].tokens) == tokens_when_cancelled[0] < 20
    assert collectors[1].events[-1].finish_reason is None  # cut short, not finished
    cancelled_step = next(r.step for r in reports if requests[1].id in r.left)
    assert requests[1].id not in reports[cancelled_step - 1].batch
    for index in (0, 2):
        assert collectors[index].tokens == _alone(tiny_chat_model, prompts[index], params)


def test_full_queue_raises_busy_and_later_requests_run(
    tiny_chat_model: LocalChatModel, make_scheduler: Callable[..., BatchScheduler]
) -> None:
    paused, gate = threading.Event(), threading.Event()

    def on_step(report: StepReport) -> None:
        if report.step == 1:
            paused.set()
            gate.wait(60)  # holds the scheduler between two steps

    scheduler = make_scheduler(max_batch_size=1, max_queue=1, on_step=on_step)
    prompt = _ids(tiny_chat_model, TEXTS[0])
    params = SamplingParams(max_new_tokens=8)
    running, queued = Collector(), Collector()
    scheduler.submit(prompt, params, threading.Event(), running)
    assert paused.wait(60)
    scheduler.submit(prompt, params, threading.Event(), queued)
    with pytest.raises(GenerationBusyError, match=r"queue limit \(max_queue\)\. Retry later"):
        scheduler.submit(prompt, params, threading.Event(), Collector())
    gate.set()
    assert running.wait().tokens == queued.wait().tokens == _alone(tiny_chat_model, prompt, params)
    after = Collector()
    scheduler.submit(prompt, params, threading.Event(), after)
    assert after.wait().tokens == running.tokens


def test_failing_request_does_not_stop_the_others_or_the_scheduler(
    tiny_chat_model: LocalChatModel, make_scheduler: Callable[..., BatchScheduler]
) -> None:
    scheduler = make_scheduler()
    prompt = _ids(tiny_chat_model, TEXTS[2])
    params = SamplingParams(max_new_tokens=15)
    good = Collector()
    scheduler.submit(prompt, params, threading.Event(), good)
    vocabulary = tiny_chat_model.generator.model.config.vocab_size
    with pytest.raises(GenerationError, match="Generation failed"):
        list(scheduler.stream([vocabulary + 5], params, threading.Event()))  # no such token

    def gone(item: TokenEvent | BaseException | None) -> None:
        raise ConnectionError("the consumer has gone away")

    scheduler.submit(prompt, params, threading.Event(), gone)
    assert good.wait().error is None
    expected = _alone(tiny_chat_model, prompt, params)
    assert good.tokens == expected
    assert [e.token_id for e in scheduler.stream(prompt, params, threading.Event())] == expected


def test_prompts_the_model_cannot_read_are_refused_at_submit(
    make_scheduler: Callable[..., BatchScheduler],
) -> None:
    scheduler = make_scheduler()
    with pytest.raises(GenerationError, match="prompt is empty"):
        scheduler.submit([], SamplingParams(), threading.Event(), Collector())
    with pytest.raises(GenerationError, match="Shorten the conversation"):
        scheduler.submit([5] * 5000, SamplingParams(), threading.Event(), Collector())


def test_each_request_samples_with_its_own_settings(
    tiny_chat_model: LocalChatModel, make_scheduler: Callable[..., BatchScheduler]
) -> None:
    scheduler = make_scheduler()
    prompt = _ids(tiny_chat_model, TEXTS[1])
    settings = [
        SamplingParams(max_new_tokens=16, temperature=1.0, top_p=0.9, seed=7),
        SamplingParams(max_new_tokens=16),
        SamplingParams(max_new_tokens=16, temperature=0.8, seed=11, repetition_penalty=1.3),
    ]
    collectors = [Collector() for _ in settings]
    for params, collector in zip(settings, collectors, strict=True):
        scheduler.submit(prompt, params, threading.Event(), collector)
    results = [collector.wait().tokens for collector in collectors]
    assert results == [_alone(tiny_chat_model, prompt, params) for params in settings]
    assert len({tuple(tokens) for tokens in results}) == 3


async def test_async_consumer_cancelled_through_the_pool_leaves_the_batch(
    tiny_chat_model: LocalChatModel, make_scheduler: Callable[..., BatchScheduler]
) -> None:
    log = StepLog()
    scheduler = make_scheduler(on_step=log)
    pool = GenerationPool(scheduler)
    prompt = _ids(tiny_chat_model, TEXTS[0])
    params = SamplingParams(max_new_tokens=200)
    first = asyncio.Event()

    async def consume() -> None:
        async for _ in pool.astream(prompt, params):
            first.set()

    task = asyncio.create_task(consume())
    await first.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    short = SamplingParams(max_new_tokens=5)
    after = [event.token_id async for event in pool.astream(prompt, short)]
    assert after == _alone(tiny_chat_model, prompt, short)
    reports = await asyncio.to_thread(log.until_left, 1, 2)
    left = [request_id for report in reports for request_id in report.left]
    assert left == [1, 2]  # the cancelled request left before the next one ended
    assert scheduler.steps < 200
