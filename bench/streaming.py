"""Streaming efficiency: tokens/s through the service's SSE over plain `model.generate`.

    python -m bench.streaming              # about a minute on 2 shared cores
    python -m bench.streaming --tokens 128 --rounds 3

Both paths decode the same prompt on the same weights in this one process, taking turns round
by round so that a busy moment of the shared machine hits both alike:

- plain: `model.generate(prompt_ids, max_new_tokens=N, do_sample=False)`, its first token timed
  by a streamer;
- service: the real app (uvicorn on a loopback port, SQLite checkpoints, the batching scheduler)
  running the agent graph with no tools; `POST /runs/stream` with stream_mode messages-tuple,
  timed by the client from the request to the last byte, tokens counted from the reply's usage.

Every path decodes exactly N tokens: end-of-turn tokens are masked out of the logits (see
`bench/local_model.py`), since the bundled model would otherwise end its answer early.
Goals (issue 3 §6): service tokens/s / plain tokens/s >= 0.97; service first-token time -
plain's <= 15 ms.

Then the service's CPU per streamed token (issue 21: <= 25 µs), what decides how many
tokens a second one server process can stream from a fast (GPU-backed) model: the CPU time of
the event loop's thread, with the client in a thread of its own, for runs of N tokens and of
N/4, the difference divided by the tokens between (the run's fixed costs cancel out).

Torch runs one intra-op thread by default (`--threads`): on a shared machine
two OpenMP threads wait on each other whenever one is descheduled, which made this tiny model
twenty times slower in both paths alike.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from dataclasses import dataclass
from typing import Any

import httpx
import torch
from langchain_core.messages import HumanMessage, SystemMessage
from transformers.generation.streamers import BaseStreamer

from bench.live_service import serve, stream_run
from bench.local_model import BenchModel, load_bench_model, machine_load
from threadloom.service.settings import Settings

PROMPT = "Tell me a long story about the sea, the ships and the people who sail them."
THROUGHPUT_GOAL = 0.97
ADDED_TTFT_GOAL_MS = 15.0
CPU_PER_TOKEN_AIM_US = 25.0  # issue 21


@dataclass(frozen=True)
class Timing:
    first_token_s: float
    tokens_per_s: float


class _FirstTokenClock(BaseStreamer):
    """`generate` calls `put` with the prompt, then with each new token: time the first token."""

    def __init__(self, started: float) -> None:
        self.started = started
        self.calls = 0
        self.first_token_s = 0.0

    def put(self, value: Any) -> None:
        self.calls += 1
        if self.calls == 2:
            self.first_token_s = time.perf_counter() - self.started

    def end(self) -> None:
        pass


def plain_generate(bench: BenchModel, prompt_ids: list[int], tokens: int) -> Timing:
    input_ids = torch.tensor([prompt_ids])
    started = time.perf_counter()
    clock = _FirstTokenClock(started)
    output = bench.weights.generate(
        input_ids,
        attention_mask=torch.ones_like(input_ids),
        max_new_tokens=tokens,
        do_sample=False,
        streamer=clock,
    )
    elapsed = time.perf_counter() - started
    made = output.shape[1] - input_ids.shape[1]
    if made != tokens:
        raise RuntimeError(f"generate made {made} tokens, not {tokens}")
    return Timing(clock.first_token_s, made / elapsed)


async def run(tokens: int, rounds: int) -> None:
    bench = load_bench_model(tokens)
    prompt_ids = bench.prompt_ids([SystemMessage(Settings().system_prompt), HumanMessage(PROMPT)])
    print(f"model: {bench.description}")
    print(f"prompt: {len(prompt_ids)} tokens; {tokens} new tokens per run, end of turn masked")
    plain: list[Timing] = []
    served: list[Timing] = []
    async with serve(bench.chat, tokens) as client:
        # Warm-up: the first forward passes of a process are several times slower.
        await asyncio.to_thread(plain_generate, bench, prompt_ids, tokens)
        await stream_run(client, PROMPT)
        for _ in range(rounds):
            plain.append(await asyncio.to_thread(plain_generate, bench, prompt_ids, tokens))
            result = await stream_run(client, PROMPT)
            if result.output_tokens != tokens:
                raise RuntimeError(f"the service made {result.output_tokens} tokens, not {tokens}")
            served.append(Timing(result.first_token_s, result.output_tokens / result.total_s))
    short_tokens = max(tokens // 4, 1)
    short = bench.chat.model_copy(update={"max_new_tokens": short_tokens})
    cpu_long = await loop_cpu_per_run(bench.chat, tokens, rounds)
    cpu_short = await loop_cpu_per_run(short, short_tokens, rounds)
    bench.chat.generator.shutdown()  # type: ignore[attr-defined]
    _report(plain, served, rounds)
    per_token_us = (cpu_long - cpu_short) / (tokens - short_tokens) * 1e6
    verdict = "met" if per_token_us <= CPU_PER_TOKEN_AIM_US else "MISSED"
    print(
        f"service CPU per streamed token: {per_token_us:.0f} µs (event loop thread: "
        f"{cpu_long * 1000:.1f} ms per {tokens}-token run, {cpu_short * 1000:.1f} ms per "
        f"{short_tokens}; aim <= {CPU_PER_TOKEN_AIM_US:.0f} µs: {verdict})"
    )


async def loop_cpu_per_run(model: Any, tokens: int, rounds: int) -> float:
    """Median CPU seconds of this thread (the server's event loop) per streamed run of `model`,
    the client streaming from a thread and event loop of its own."""
    spent: list[float] = []
    async with serve(model, tokens) as client:
        base_url = str(client.base_url)

        async def one_run() -> None:
            async with httpx.AsyncClient(base_url=base_url, timeout=120) as own:
                result = await stream_run(own, PROMPT)
            if result.output_tokens != tokens:
                raise RuntimeError(f"the service made {result.output_tokens} tokens, not {tokens}")

        await asyncio.to_thread(asyncio.run, one_run())  # warm-up
        for _ in range(rounds):
            started = time.thread_time()
            await asyncio.to_thread(asyncio.run, one_run())
            spent.append(time.thread_time() - started)
    return statistics.median(spent)


def _report(plain: list[Timing], served: list[Timing], rounds: int) -> None:
    plain_rate = statistics.median(t.tokens_per_s for t in plain)
    served_rate = statistics.median(t.tokens_per_s for t in served)
    plain_first = statistics.median(t.first_token_s for t in plain) * 1000
    served_first = statistics.median(t.first_token_s for t in served) * 1000
    ratio = served_rate / plain_rate
    added = served_first - plain_first
    print(f"\nmedians of {rounds} interleaved rounds")
    print(f"{'path':<34}{'tokens/s':>10}{'first token ms':>16}")
    print(f"{'plain model.generate':<34}{plain_rate:>10.0f}{plain_first:>16.1f}")
    print(f"{'service SSE (messages-tuple)':<34}{served_rate:>10.0f}{served_first:>16.1f}")
    print(
        f"\nstreaming efficiency (service / plain tokens/s): {ratio:.3f} "
        f"(goal >= {THROUGHPUT_GOAL}: {'met' if ratio >= THROUGHPUT_GOAL else 'MISSED'})"
    )
    met = "met" if added <= ADDED_TTFT_GOAL_MS else "MISSED"
    print(
        f"first-token time the service adds: {added:.1f} ms "
        f"(goal <= {ADDED_TTFT_GOAL_MS:.0f} ms: {met})"
    )
    print(machine_load())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, default=256, help="new tokens per run")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds per path")
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    asyncio.run(run(args.tokens, args.rounds))


if __name__ == "__main__":
    main()
