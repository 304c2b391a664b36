"""Prefix reuse: tokens prefilled and time to first token per step of a long thread, with and
without the prefix cache, and how much of each ReAct prompt matches the one before.

    python -m bench.prefix_reuse            # about a minute on 2 shared cores
    python -m bench.prefix_reuse --steps 6 --history 3600

Long thread: a conversation of about `--history` prompt tokens (the bundled model reads 4,096),
continued for `--steps` steps; each step decodes `--tokens` tokens (end of turn masked, see
`bench/local_model.py`), then its reply and a new user turn join the history. Two batching
schedulers on the same weights, one with a prefix cache and one without, take turns step by step
and must produce the same tokens. Goals (issue 11 §4), from the second step on: >= 5x fewer
tokens prefilled and >= 3x faster first token with reuse.

ReAct match: the unmasked bundled model runs the real agent graph (search and calculator) for a
few runs on one thread; for each model call, how many prompt tokens came from the cache, and how
many tokens the previous call had run that the new prompt renders differently (its reply
re-rendered by the chat template), which no exact-prefix cache can reuse.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage
from langgraph.checkpoint.memory import InMemorySaver

from bench.local_model import BenchModel, load_bench_model, machine_load
from threadloom.graphs import build_graph
from threadloom.models.batching import BatchScheduler, StepReport
from threadloom.models.generation import SamplingParams, TokenEvent
from threadloom.models.loading import load_local_model
from threadloom.models.local import LocalChatModel
from threadloom.models.prefix_cache import common_prefix_length
from threadloom.models.tiny_model_kit.evaluate import DEMO_QUESTION
from threadloom.service.settings import Settings
from threadloom.tools.registry import get_tools

PREFILL_GOAL = 5.0
FIRST_TOKEN_GOAL = 3.0
BUDGET_BYTES = 256 * 2**20
QUESTIONS = [
    "Tell me about the old harbour and the ships that sail from it.",
    "What did the captain say to the crew before the storm?",
    "Who built the lighthouse, and when?",
    "Describe the market by the sea in the morning.",
]
ANSWER = (
    "The harbour is old and busy. Ships sail in the morning and come back at night, and the "
    "people who sail them know every rock and current of the coast."
)
REACT_QUESTIONS = [DEMO_QUESTION, "And what is 7 times 6?", "Who is Taylor Swift's boyfriend?"]


@dataclass(frozen=True)
class Step:
    prompt: int
    prefilled: int
    first_token_s: float
    tokens: list[int]


class _JoinLog:
    """The scheduler's step reports; the prefill figures of the last request that joined."""

    def __init__(self) -> None:
        self.last: StepReport | None = None

    def __call__(self, report: StepReport) -> None:
        if report.joined:
            self.last = report


def decode_step(
    scheduler: BatchScheduler, log: _JoinLog, ids: list[int], tokens: int
) -> Step:
    started = time.perf_counter()
    first = 0.0
    made: list[int] = []
    for event in scheduler.stream(ids, SamplingParams(max_new_tokens=tokens), threading.Event()):
        if not made:
            first = time.perf_counter() - started
        made.append(event.token_id)
    assert log.last is not None
    return Step(len(ids), log.last.prefilled, first, made)


def long_thread(bench: BenchModel, history_tokens: int, steps: int, tokens: int) -> None:
    messages: list[BaseMessage] = [SystemMessage(Settings().system_prompt)]
    turn = 0
    while len(bench.prompt_ids(messages)) < history_tokens:
        messages += [HumanMessage(QUESTIONS[turn % len(QUESTIONS)]), AIMessage(ANSWER)]
        turn += 1
    logs = {"reuse": _JoinLog(), "plain": _JoinLog()}
    schedulers = {
        "reuse": BatchScheduler(
            bench.weights, prefix_cache_bytes=BUDGET_BYTES, on_step=logs["reuse"]
        ),
        "plain": BatchScheduler(bench.weights, on_step=logs["plain"]),
    }
    warm = bench.prompt_ids(messages[:3])
    for scheduler in schedulers.values():  # the first forward passes of a process are slower
        list(scheduler.stream(warm, SamplingParams(max_new_tokens=2), threading.Event()))
    rows: dict[str, list[Step]] = {"reuse": [], "plain": []}
    for step in range(steps):
        messages.append(HumanMessage(QUESTIONS[step % len(QUESTIONS)]))
        ids = bench.prompt_ids(messages)
        for name in ("plain", "reuse"):
            rows[name].append(decode_step(schedulers[name], logs[name], ids, tokens))
        if rows["plain"][-1].tokens != rows["reuse"][-1].tokens:
            raise RuntimeError(f"step {step + 1}: reuse changed the greedy tokens")
        messages.append(AIMessage(bench.chat.tokenizer.decode(rows["plain"][-1].tokens)))
    for scheduler in schedulers.values():
        scheduler.shutdown()
    _report_thread(rows, tokens)


def _report_thread(rows: dict[str, list[Step]], tokens: int) -> None:
    print(f"\nlong thread: {len(rows['plain'])} steps, {tokens} new tokens each, same tokens")
    print(f"{'':>12}{'tokens prefilled':>22}{'first token ms':>24}")
    print(f"{'step':>4}{'prompt':>8}{'plain':>11}{'with reuse':>11}"
          f"{'plain':>12}{'with reuse':>12}")
    for index, (plain, reuse) in enumerate(zip(rows["plain"], rows["reuse"], strict=True)):
        print(
            f"{index + 1:>4}{plain.prompt:>8}{plain.prefilled:>11}{reuse.prefilled:>11}"
            f"{plain.first_token_s * 1000:>12.1f}{reuse.first_token_s * 1000:>12.1f}"
        )
    later = slice(1, None)
    prefill_ratio = sum(s.prefilled for s in rows["plain"][later]) / max(
        1, sum(s.prefilled for s in rows["reuse"][later])
    )
    first_ratio = statistics.median(s.first_token_s for s in rows["plain"][later]) / (
        statistics.median(s.first_token_s for s in rows["reuse"][later])
    )
    print("\nfrom the second step on:")
    _goal("fewer tokens prefilled with reuse", prefill_ratio, PREFILL_GOAL)
    _goal("faster first token with reuse (medians)", first_ratio, FIRST_TOKEN_GOAL)


def _goal(label: str, value: float, goal: float) -> None:
    print(f"{label}: {value:.1f}x (goal >= {goal:g}x: {'met' if value >= goal else 'MISSED'})")


class _RecordingScheduler(BatchScheduler):
    """Records each request's prompt and tokens."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.calls: list[tuple[list[int], list[int]]] = []

    def submit(
        self,
        input_ids: list[int],
        params: SamplingParams,
        cancel: threading.Event,
        hand_over: Callable[[TokenEvent | BaseException | None], None],
    ) -> Any:
        made: list[int] = []
        self.calls.append((input_ids, made))

        def record(item: TokenEvent | BaseException | None) -> None:
            if isinstance(item, TokenEvent):
                made.append(item.token_id)
            hand_over(item)

        return super().submit(input_ids, params, cancel, record)


async def react_match() -> None:
    bundled = load_local_model("bundled", device="cpu")
    joins: list[StepReport] = []
    recorder = _RecordingScheduler(
        bundled.generator.model,  # type: ignore[attr-defined]
        prefix_cache_bytes=BUDGET_BYTES,
        on_step=lambda report: joins.append(report) if report.joined else None,
    )
    chat = LocalChatModel(
        model_name="bundled", tokenizer=bundled.tokenizer, generator=recorder, max_new_tokens=64
    )
    tools = get_tools(["calculator", "search"])
    agent = build_graph(chat, tools, system_prompt=Settings().system_prompt).compile(
        checkpointer=InMemorySaver()
    )
    config = {"configurable": {"thread_id": "bench"}}
    for question in REACT_QUESTIONS:
        await agent.ainvoke({"messages": [HumanMessage(question)]}, config)
    recorder.shutdown()
    print(f"\nReAct thread on the bundled model: {len(REACT_QUESTIONS)} runs, "
          f"{len(recorder.calls)} model calls")
    print(f"{'call':>4}{'prompt':>8}{'reused':>8}{'prefilled':>11}{'run before, re-rendered':>25}")
    for index, ((ids, _), join) in enumerate(zip(recorder.calls, joins, strict=True)):
        lost = 0
        if index:
            before_ids, before_made = recorder.calls[index - 1]
            ran = torch.tensor(before_ids + before_made[:-1])
            lost = ran.numel() - common_prefix_length(ran, torch.tensor(ids))
        print(f"{index + 1:>4}{len(ids):>8}{join.reused:>8}{join.prefilled:>11}{lost:>25}")
    total = sum(len(ids) for ids, _ in recorder.calls[1:])
    reused = sum(join.reused for join in joins[1:])
    print(f"prompt tokens reused from the second call on: {reused}/{total} "
          f"({100 * reused / max(1, total):.0f}%)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--history", type=int, default=3600, help="prompt tokens of the thread")
    parser.add_argument("--steps", type=int, default=5, help="steps of the long thread")
    parser.add_argument("--tokens", type=int, default=32, help="new tokens per step")
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    bench = load_bench_model(args.tokens)
    print(f"model: {bench.description}")
    started = time.perf_counter()
    long_thread(bench, args.history, args.steps, args.tokens)
    asyncio.run(react_match())
    print(f"\n{machine_load()}; {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
