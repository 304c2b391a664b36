"""Aggregate tokens/s with 8 concurrent conversations over one, and the batching ceiling.

    python -m bench.concurrency             # about a minute on 2 shared cores
    python -m bench.concurrency --conversations 8 --tokens 64 --rounds 3

Measured in this one process, on the same weights, each line's 1 and N sides taken in turns:

- service: the real app (uvicorn on loopback, SQLite checkpoints, the batching scheduler), N
  stateless runs streamed at once (messages-tuple) over one run alone: the goal (issue 21) is
  >= 0.95 x the padded `generate` ceiling measured in the same run;
- chat model: `LocalChatModel.ainvoke` N at once over one, the scheduler without the service;
- scheduler: `BatchScheduler.submit` N at once over one, token ids counted on its thread;
- ceiling: plain `model.generate` on a left-padded batch of N prompts over a batch of 1, what
  batching the forward pass can give at best on this machine.

Every path decodes exactly `--tokens` tokens per conversation (end-of-turn tokens masked, see
`bench/local_model.py`). Torch runs one intra-op thread by default (`--threads`), as in
`bench/streaming.py`.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import threading
import time
from collections.abc import Awaitable, Callable

import torch
from langchain_core.messages import HumanMessage

from bench.live_service import serve, stream_run
from bench.local_model import BenchModel, load_bench_model, machine_load
from threadloom.models.generation import SamplingParams, TokenEvent

PROMPTS = [
    "Tell me a long story about the sea.",
    "What is the capital of France, and why?",
    "Describe a walk through the old town at night.",
    "Explain how bread is made, step by step.",
    "Write a letter to a friend far away.",
    "Who was the first person to climb the highest mountain?",
    "List the planets and say one thing about each.",
    "Tell me about your favourite book.",
]
# The service's N-over-1 ratio over the ceiling's, both from this run (issue 21).
GOAL_OF_CEILING = 0.95

Measure = Callable[[int], Awaitable[float]]  # conversations -> aggregate tokens/s


async def run(conversations: int, tokens: int, rounds: int) -> None:
    bench = load_bench_model(tokens, max_batch_size=conversations)
    prompts = [PROMPTS[i % len(PROMPTS)] for i in range(conversations)]
    print(f"model: {bench.description}")
    print(f"{conversations} conversations, {tokens} new tokens each, end of turn masked")
    rows: list[tuple[str, float, float]] = []
    async with serve(bench.chat, tokens) as client:

        async def service(count: int) -> float:
            started = time.perf_counter()
            results = await asyncio.gather(*(stream_run(client, p) for p in prompts[:count]))
            made = sum(result.output_tokens for result in results)
            if made != count * tokens:
                raise RuntimeError(f"the service made {made} tokens, not {count * tokens}")
            return made / (time.perf_counter() - started)

        async def chat_model(count: int) -> float:
            started = time.perf_counter()
            replies = await asyncio.gather(
                *(bench.chat.ainvoke([HumanMessage(p)]) for p in prompts[:count])
            )
            made = sum(reply.usage_metadata["output_tokens"] for reply in replies)  # type: ignore[index]
            return made / (time.perf_counter() - started)

        async def scheduler(count: int) -> float:
            return await asyncio.to_thread(scheduler_rate, bench, prompts[:count], tokens)

        async def ceiling(count: int) -> float:
            return await asyncio.to_thread(padded_generate, bench, prompts[:count], tokens)

        for name, measure in (
            ("service SSE", service),
            ("LocalChatModel.ainvoke", chat_model),
            ("BatchScheduler.submit", scheduler),
            ("ceiling: padded model.generate", ceiling),
        ):
            one, many = await _side_by_side(measure, conversations, rounds)
            rows.append((name, one, many))
    bench.chat.generator.shutdown()  # type: ignore[attr-defined]
    _report(rows, conversations, rounds)


async def _side_by_side(measure: Measure, conversations: int, rounds: int) -> tuple[float, float]:
    """Medians of 1 and N conversations, taken in turns; a first round of each warms up."""
    await measure(1)
    await measure(conversations)
    ones, manys = [], []
    for _ in range(rounds):
        ones.append(await measure(1))
        manys.append(await measure(conversations))
    return statistics.median(ones), statistics.median(manys)


def scheduler_rate(bench: BenchModel, prompts: list[str], tokens: int) -> float:
    """Aggregate tokens/s of the chat model's scheduler alone, all prompts submitted at once."""
    params = SamplingParams(max_new_tokens=tokens)
    made: list[TokenEvent] = []
    ended = threading.Semaphore(0)

    def hand_over(item: TokenEvent | BaseException | None) -> None:
        if item is None:
            ended.release()
        elif isinstance(item, TokenEvent):
            made.append(item)

    started = time.perf_counter()
    for prompt in prompts:
        prompt_ids = bench.prompt_ids([HumanMessage(prompt)])
        bench.chat.generator.submit(prompt_ids, params, threading.Event(), hand_over)  # type: ignore[attr-defined]
    for _ in prompts:
        ended.acquire()
    return len(made) / (time.perf_counter() - started)


def padded_generate(bench: BenchModel, prompts: list[str], tokens: int) -> float:
    """Aggregate tokens/s of one greedy `generate` over the prompts, left-padded into a batch."""
    tokenizer = bench.chat.tokenizer
    texts = [
        tokenizer.apply_chat_template(
            [{"role": "user", "content": p}], tokenize=False, add_generation_prompt=True
        )
        for p in prompts
    ]
    tokenizer.padding_side = "left"
    batch = tokenizer(texts, return_tensors="pt", padding=True, add_special_tokens=False)
    started = time.perf_counter()
    output = bench.weights.generate(**batch, max_new_tokens=tokens, do_sample=False)
    elapsed = time.perf_counter() - started
    made = (output.shape[1] - batch["input_ids"].shape[1]) * len(prompts)
    return made / elapsed


def _report(rows: list[tuple[str, float, float]], conversations: int, rounds: int) -> None:
    print(f"\naggregate tokens/s, medians of {rounds} rounds")
    header = f"{'path':<34}{'1 conversation':>16}{f'{conversations} at once':>14}{'ratio':>8}"
    print(header)
    for name, one, many in rows:
        print(f"{name:<34}{one:>16.0f}{many:>14.0f}{many / one:>7.2f}x")
    service_ratio = rows[0][2] / rows[0][1]
    ceiling_ratio = rows[-1][2] / rows[-1][1]
    goal = GOAL_OF_CEILING * ceiling_ratio
    verdict = "met" if service_ratio >= goal else "MISSED"
    print(
        f"\nservice, {conversations} conversations / 1: {service_ratio:.2f}x "
        f"(goal >= {GOAL_OF_CEILING} x the padded ceiling {ceiling_ratio:.2f}x = {goal:.2f}x: "
        f"{verdict})"
    )
    print(machine_load())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=int, default=8)
    parser.add_argument("--tokens", type=int, default=64, help="new tokens per conversation")
    parser.add_argument("--rounds", type=int, default=3, help="rounds per path and side")
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    asyncio.run(run(args.conversations, args.tokens, args.rounds))


if __name__ == "__main__":
    main()
