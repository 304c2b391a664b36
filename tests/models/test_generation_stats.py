"""The batching scheduler's numbers for metrics: requests decoding and waiting at each step,
tokens generated and throughput once they are done (read as a collector reads them)."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from tests.models.test_batching import Collector
from threadloom.models.batching import BatchScheduler, StepReport, live_schedulers
from threadloom.models.generation import SamplingParams
from threadloom.models.local import LocalChatModel


@pytest.fixture
def scheduler(tiny_chat_model: LocalChatModel) -> Iterator[BatchScheduler]:
    made = BatchScheduler(tiny_chat_model.generator.model, max_batch_size=1, name="tiny")
    yield made
    made.shutdown()


def test_batch_size_queue_depth_and_tokens(
    scheduler: BatchScheduler, tiny_chat_model: LocalChatModel
) -> None:
    prompt = tiny_chat_model.tokenizer("Tell me a story", add_special_tokens=False)["input_ids"]
    params = SamplingParams(max_new_tokens=12, stop_token_ids=frozenset())
    first, second = Collector(), Collector()
    seen: dict[int, tuple[int, int]] = {}
    idle = threading.Event()

    def on_step(report: StepReport) -> None:
        if report.step == 1:  # the first request decodes; the second arrives now and waits
            scheduler.submit(prompt, params, threading.Event(), second)
        seen[report.step] = (scheduler.batch_size, scheduler.queue_depth)
        if seen[report.step] == (0, 0):  # reported after the step's numbers were recorded
            idle.set()

    scheduler.on_step = on_step
    assert scheduler in live_schedulers()
    scheduler.submit(prompt, params, threading.Event(), first)
    first.wait(), second.wait()
    assert idle.wait(60)

    assert seen[1] == (1, 1)  # one slot: one decoding, one waiting
    assert max(batch for batch, _ in seen.values()) == 1
    assert scheduler.batch_size == 0 and scheduler.queue_depth == 0
    assert scheduler.stats.tokens == len(first.tokens) + len(second.tokens) > 0
    assert scheduler.stats.busy_seconds > 0
    assert scheduler.stats.tokens_per_second > 0
