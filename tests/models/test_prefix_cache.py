"""Prefix reuse on the bundled model: the same greedy tokens as prefilling everything, while only
the tokens past the longest kept prefix are run — over multi-step ReAct threads, batched and
alone, after a cancelled request, under a budget that evicts, and for a prompt that diverges
midway. The `PrefixCache` bookkeeping (longest match, LRU, budget) is checked on small tensors.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import torch
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage
from langgraph.checkpoint.memory import InMemorySaver

from threadloom.graphs import build_graph
from threadloom.models.batching import BatchScheduler, StepReport
from threadloom.models.generation import SamplingParams
from threadloom.models.loading import load_local_model
from threadloom.models.local import LocalChatModel
from threadloom.models.prefix_cache import PrefixCache, common_prefix_length
from threadloom.models.prompt import PromptBuilder
from threadloom.models.tiny_model_kit.evaluate import DEMO_QUESTION
from threadloom.service.settings import Settings
from threadloom.tools.registry import get_tools

BUDGET = 64 * 2**20
FOLLOW_UPS = ["And what is 7 times 6?", "Who is Taylor Swift's boyfriend?"]
SYSTEM = Settings().system_prompt
ANSWER = "Gigi Hadid is an American model, born 23 April 1995. Her boyfriend is Bradley Cooper. "


# --- bookkeeping on small tensors -------------------------------------------------------------


def _layers(length: int, fill: float = 1.0) -> tuple[tuple[torch.Tensor, torch.Tensor], ...]:
    """Two layers of keys and values for `length` tokens: 2 x 2 x length x 4 x 4 bytes."""
    return tuple(
        (torch.full((1, 2, length, 4), fill), torch.full((1, 2, length, 4), fill))
        for _ in range(2)
    )


def _ids(*values: int) -> torch.Tensor:
    return torch.tensor(values, dtype=torch.long)


def test_lookup_takes_the_longest_common_prefix_within_the_limit() -> None:
    cache = PrefixCache(10_000)
    cache.store(_ids(1, 2, 3), _layers(3, 1.0))
    cache.store(_ids(1, 2, 7, 8, 9), _layers(5, 2.0))

    hit = cache.lookup(_ids(1, 2, 7, 8, 5, 6), limit=5)
    assert hit is not None and hit.length == 4
    assert hit.layers[0][0].shape[-2] == 4 and float(hit.layers[0][0][0, 0, 0, 0]) == 2.0
    assert cache.lookup(_ids(1, 2, 7, 8, 9), limit=4).length == 4  # type: ignore[union-attr]
    assert cache.lookup(_ids(5, 1, 2), limit=2) is None


def test_an_extended_entry_is_replaced_and_a_prefix_of_a_kept_one_is_not_stored() -> None:
    cache = PrefixCache(10_000)
    assert cache.store(_ids(1, 2), _layers(2))
    assert cache.store(_ids(1, 2, 3, 4), _layers(4))
    assert len(cache) == 1 and cache.nbytes == 4 * 128
    assert not cache.store(_ids(1, 2, 3), _layers(3))
    assert len(cache) == 1


def test_least_recently_used_entries_are_evicted_to_stay_within_the_budget() -> None:
    cache = PrefixCache(2 * 4 * 128)  # two entries of 4 tokens
    cache.store(_ids(1, 1, 1, 1), _layers(4))
    cache.store(_ids(2, 2, 2, 2), _layers(4))
    cache.lookup(_ids(1, 1, 1, 1, 5), limit=4)  # entry 1 is now the most recently used
    cache.store(_ids(3, 3, 3, 3), _layers(4))
    assert cache.evictions == 1 and cache.nbytes <= cache.budget_bytes
    assert cache.lookup(_ids(2, 2, 9), limit=2) is None
    assert cache.lookup(_ids(1, 1, 9), limit=2) is not None
    assert not cache.store(_ids(4) .repeat(9), _layers(9))  # larger than the whole budget
    assert common_prefix_length(_ids(1, 2, 3), _ids(1, 2)) == 2


# --- the bundled model --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def bundled() -> LocalChatModel:
    return load_local_model("bundled", device="cpu")


@pytest.fixture
def make_scheduler(bundled: LocalChatModel) -> Iterator[Callable[..., BatchScheduler]]:
    made: list[BatchScheduler] = []

    def make(budget: int, reports: list[StepReport] | None = None) -> BatchScheduler:
        hook = reports.append if reports is not None else None
        scheduler = BatchScheduler(
            bundled.generator.model,  # type: ignore[attr-defined]
            prefix_cache_bytes=budget,
            on_step=hook,
        )
        made.append(scheduler)
        return scheduler

    yield make
    for scheduler in made:
        scheduler.shutdown()


def _decode(scheduler: BatchScheduler, ids: list[int], tokens: int = 24) -> list[int]:
    events = scheduler.stream(ids, SamplingParams(max_new_tokens=tokens), threading.Event())
    return [event.token_id for event in events]


def _comparable(messages: list[BaseMessage]) -> list[tuple[str, Any, Any]]:
    """Messages without the random tool-call ids."""
    return [
        (
            type(m).__name__,
            m.content,
            [(c["name"], c["args"]) for c in m.tool_calls] if isinstance(m, AIMessage) else None,
        )
        for m in messages
    ]


async def _run_thread(
    bundled: LocalChatModel, scheduler: BatchScheduler, questions: list[str], thread: str
) -> list[tuple[str, Any, Any]]:
    """Runs of the agent graph on one thread, one per question; the thread's messages."""
    chat = LocalChatModel(
        model_name="bundled", tokenizer=bundled.tokenizer, generator=scheduler, max_new_tokens=64
    )
    graph = build_graph(chat, get_tools(["calculator", "search"]), system_prompt=SYSTEM)
    agent = graph.compile(checkpointer=InMemorySaver())
    config = {"configurable": {"thread_id": thread}}
    state: dict[str, Any] = {}
    for question in questions:
        state = await agent.ainvoke({"messages": [HumanMessage(question)]}, config)
    return _comparable(state["messages"])


def _joins(reports: list[StepReport]) -> list[tuple[int, int]]:
    """(prefilled, reused) of each step where requests joined."""
    return [(r.prefilled, r.reused) for r in reports if r.joined]


async def test_react_thread_replies_are_the_same_with_reuse_and_prefill_only_new_tokens(
    bundled: LocalChatModel, make_scheduler: Callable[..., BatchScheduler]
) -> None:
    questions = [DEMO_QUESTION, *FOLLOW_UPS]
    reports: list[StepReport] = []
    plain = await _run_thread(bundled, make_scheduler(0), questions, "t")
    reused = await _run_thread(bundled, make_scheduler(BUDGET, reports), questions, "t")

    assert reused == plain
    assert sum(1 for m in plain if m[0] == "ToolMessage") >= 2  # several ReAct steps and runs
    joins = _joins(reports)
    assert joins[0] == (joins[0][0], 0)
    # From the second model call on, most of the prompts come from the cache; a call whose cached
    # prefix is under half its prompt (a long tool result) prefills it all.
    assert all(r == 0 or r >= p for p, r in joins[1:])
    assert sum(1 for _, r in joins[1:] if r) >= len(joins) - 2
    assert sum(r for _, r in joins[1:]) > 2 * sum(p for p, _ in joins[1:])


async def test_batched_threads_with_different_cached_lengths_match_unbatched_decoding(
    bundled: LocalChatModel, make_scheduler: Callable[..., BatchScheduler]
) -> None:
    threads = [[DEMO_QUESTION, FOLLOW_UPS[0]], [FOLLOW_UPS[1], "What is 3 plus 4?"]]
    alone = make_scheduler(0)
    expected = [await _run_thread(bundled, alone, qs, f"t{i}") for i, qs in enumerate(threads)]
    reports: list[StepReport] = []
    shared = make_scheduler(BUDGET, reports)
    together = await asyncio.gather(
        *(_run_thread(bundled, shared, qs, f"t{i}") for i, qs in enumerate(threads))
    )

    assert list(together) == expected
    assert any(len(r.batch) > 1 for r in reports)
    # A request joined with a reused prefix while another row was decoding: rows of different
    # cached lengths, left-padded in one batch.
    assert any(r.reused and len(r.batch) > len(r.joined) for r in reports)


def _prompt(bundled: LocalChatModel, *turns: BaseMessage) -> list[int]:
    builder = PromptBuilder(bundled.tokenizer)
    return builder.build([SystemMessage(SYSTEM), *turns], []).input_ids


def test_a_cancelled_request_keeps_only_what_it_ran_and_reuse_stays_exact(
    bundled: LocalChatModel, make_scheduler: Callable[..., BatchScheduler]
) -> None:
    ids = _prompt(bundled, HumanMessage("Tell me about Vittoria Ceretti and her age."))
    expected = _decode(make_scheduler(0), ids)
    reports: list[StepReport] = []
    scheduler = make_scheduler(BUDGET, reports)
    events = scheduler.stream(ids, SamplingParams(max_new_tokens=24), threading.Event())
    first = [next(events).token_id for _ in range(3)]
    events.close()  # cancels the request mid-reply
    assert first == expected[:3]

    again = _decode(scheduler, ids)  # joins after the cancelled request has left

    assert again == expected
    assert _joins(reports)[-1] == (1, len(ids) - 1)
    cache = scheduler.prefix_cache
    assert cache is not None and len(cache) == 2 - 1  # the finished request replaced it
    # What a cancelled request leaves covers exactly the tokens it ran: the same keys as a
    # fresh forward pass over them.
    model = bundled.generator.model  # type: ignore[attr-defined]
    scheduler.shutdown()
    hit = cache.lookup(torch.tensor(ids + expected), limit=len(ids) + len(expected))
    assert hit is not None and len(ids) + 2 <= hit.length
    with torch.inference_mode():
        fresh = model(torch.tensor([(ids + expected)[: hit.length]]), use_cache=True)
    for (keys, values), layer in zip(hit.layers, fresh.past_key_values.layers, strict=True):
        assert torch.allclose(keys, layer.keys, atol=1e-4)
        assert torch.allclose(values, layer.values, atol=1e-4)


def test_eviction_under_a_tiny_budget_keeps_outputs_exact(
    bundled: LocalChatModel, make_scheduler: Callable[..., BatchScheduler]
) -> None:
    prompts = [
        _prompt(bundled, HumanMessage(text))
        for text in ("What is 7 times 6?", "Who is Gigi Hadid?", "Tell me a story")
    ]
    alone = make_scheduler(0)
    expected = [_decode(alone, ids) for ids in prompts]
    model = bundled.generator.model  # type: ignore[attr-defined]
    per_token = 2 * model.config.num_hidden_layers * model.config.hidden_size * 4
    budget = per_token * (max(len(ids) for ids in prompts) + 30)  # about one entry
    scheduler = make_scheduler(budget)
    got = [_decode(scheduler, ids) for ids in [*prompts, *prompts]]

    assert got == expected + expected
    cache = scheduler.prefix_cache
    assert cache is not None and cache.evictions >= 2 and cache.nbytes <= budget
    assert len(cache) == 1


def test_a_prompt_that_diverges_midway_reuses_only_the_shared_tokens(
    bundled: LocalChatModel, make_scheduler: Callable[..., BatchScheduler]
) -> None:
    history = [HumanMessage("Who is Gigi Hadid?"), AIMessage("Gigi Hadid is a model.")]
    first = _prompt(bundled, *history, HumanMessage("What is her age?"))
    second = _prompt(bundled, *history, HumanMessage("Who is her boyfriend?"))
    shared = common_prefix_length(torch.tensor(first), torch.tensor(second))
    assert 0 < shared < len(first) - 3
    expected = _decode(make_scheduler(0), second)
    reports: list[StepReport] = []
    scheduler = make_scheduler(BUDGET, reports)
    _decode(scheduler, first)

    assert _decode(scheduler, second) == expected
    last = [r for r in reports if r.joined][-1]
    assert (last.reused, last.prefilled) == (shared, len(second) - shared)


def test_a_cached_prefix_under_half_the_prompt_is_not_used(
    bundled: LocalChatModel, make_scheduler: Callable[..., BatchScheduler]
) -> None:
    question = HumanMessage("Who is Gigi Hadid?")
    short = _prompt(bundled, question)
    longer = _prompt(bundled, question, AIMessage(ANSWER * 3), HumanMessage("Tell me more."))
    assert 0 < len(short) - 1 < len(longer) / 2
    reports: list[StepReport] = []
    scheduler = make_scheduler(BUDGET, reports)
    _decode(scheduler, short, tokens=3)
    _decode(scheduler, longer, tokens=3)  # joins a step before it leaves: its report is in

    assert [r for r in reports if r.joined][-1].prefilled == len(longer)
