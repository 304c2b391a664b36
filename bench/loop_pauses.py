"""Loop pauses: the event loop's longest pause, and `/ok`'s answer times, while the server does
its own heavy work: hostile calculator calls, a calculator worker stuck in C (killed at the
deadline and replaced), and a 500 KB prompt.

    python -m bench.loop_pauses
    python -m bench.loop_pauses --rounds 5

The app (`create_app`, a SQLite file) runs in this process, served as `threadloom serve` serves
it (`DrainingServer`, with its heap frozen after start-up), over the agent graph with
`bench.fake_graph`'s zero-cost model and the real calculator and its worker pool, so the loop
measured is the server's own. A monitor task sleeps `TICK_S` at a time and records how late it
wakes: the longest lateness is the loop's longest pause. Meanwhile `/ok` is probed back to back
on one kept-alive connection. Each scenario runs `--rounds` times after an idle baseline:

- hostile: a tool call with a hostile expression written into a thread's state, then resumed
  (`round(1, -3*10**7)`, `9**9**9`, `factorial(10**6)`: refused before computing);
- stuck: a call that holds its worker in one C call past `compute_timeout_s` (the worker is
  killed and replaced by the pool's thread);
- prompt: a run whose input is one 500 KB human message (parsed, checked, checkpointed).

Printed: per scenario, the longest loop pause, `/ok` p50 and max, and the number of probes.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import httpx

from bench.fake_graph import build_fake_graph
from bench.stuck_call import stuck_answer
from threadloom.service.app import create_app
from threadloom.service.assistants import GRAPH_ID
from threadloom.service.cli.commands import DrainingServer
from threadloom.service.deployment.builtin_agent import compile_agent
from threadloom.service.http.server import uvicorn_config
from threadloom.service.settings import Settings
from threadloom.tools import calculator as calculator_module
from threadloom.tools.calculator import compute_pool

TICK_S = 0.001
STUCK_S = 1.0
PROMPT_BYTES = 500_000
HOSTILE = ("round(1, -3*10**7)", "9**9**9", "factorial(10**6)")

Scenario = Callable[[httpx.AsyncClient], Awaitable[None]]


class LoopMonitor:
    """The longest time the loop took to wake a task that slept `TICK_S`, beyond `TICK_S`."""

    def __init__(self) -> None:
        self.longest_s = 0.0

    async def watch(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            before = loop.time()
            await asyncio.sleep(TICK_S)
            self.longest_s = max(self.longest_s, loop.time() - before - TICK_S)


@asynccontextmanager
async def serving(workdir: Path) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(
        db=workdir / "bench.sqlite",
        tools=["calculator"],
        compute_timeout_s=STUCK_S,
        log_level="warning",
    )
    compute_pool.configure(size=2, timeout_s=STUCK_S, memory_mb=settings.compute_memory_mb)
    compute_pool.start()
    app = create_app(settings, {GRAPH_ID: compile_agent(build_fake_graph(), settings)})
    config = uvicorn_config(app, settings, port=0, log_level="warning", access_log=False)
    server = DrainingServer(config, app)  # as `threadloom serve` runs it (its heap frozen)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)  # uvicorn offers no start event to await
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
            yield client
    finally:
        server.should_exit = True
        await task
        compute_pool.close()


async def tool_call_thread(client: httpx.AsyncClient, expression: str) -> str:
    created = await client.post("/threads", json={"metadata": {"graph_id": GRAPH_ID}})
    thread_id = created.json()["thread_id"]
    call = {"name": "calculator", "args": {"expression": expression}, "id": "bench-1"}
    values = {
        "messages": [
            {"type": "human", "content": "compute it"},
            {"type": "ai", "content": "", "tool_calls": [call]},
        ]
    }
    written = await client.post(
        f"/threads/{thread_id}/state", json={"values": values, "as_node": "agent"}
    )
    written.raise_for_status()
    return thread_id


async def resume(client: httpx.AsyncClient, thread_id: str) -> None:
    done = await client.post(f"/threads/{thread_id}/runs/wait", json={"assistant_id": GRAPH_ID})
    done.raise_for_status()


async def hostile(client: httpx.AsyncClient) -> None:
    for expression in HOSTILE:
        await resume(client, await tool_call_thread(client, expression))


async def stuck(client: httpx.AsyncClient) -> None:
    thread_id = await tool_call_thread(client, "1 + 1")
    answer, calculator_module.answer = calculator_module.answer, stuck_answer
    try:
        await resume(client, thread_id)
    finally:
        calculator_module.answer = answer
    await resume(client, await tool_call_thread(client, "6 * 7"))  # on the replacement


async def prompt(client: httpx.AsyncClient) -> None:
    message = {"role": "user", "content": "x" * PROMPT_BYTES}
    done = await client.post(
        "/runs/wait", json={"assistant_id": GRAPH_ID, "input": {"messages": [message]}}
    )
    done.raise_for_status()


async def idle(client: httpx.AsyncClient) -> None:
    await asyncio.sleep(1.0)


async def measure(client: httpx.AsyncClient, scenario: Scenario) -> tuple[float, list[float]]:
    """The loop's longest pause and `/ok`'s answer times while `scenario` runs."""
    monitor = LoopMonitor()
    watching = asyncio.create_task(monitor.watch())
    work = asyncio.create_task(scenario(client))
    times: list[float] = []
    async with httpx.AsyncClient(base_url=client.base_url, timeout=60) as prober:
        while not work.done() or not times:
            started = time.perf_counter()
            (await prober.get("/ok")).raise_for_status()
            times.append(time.perf_counter() - started)
    await work
    watching.cancel()
    return monitor.longest_s, times


async def main(rounds: int) -> None:
    scenarios: dict[str, Scenario] = {
        "idle": idle,
        "hostile": hostile,
        "stuck": stuck,
        "prompt": prompt,
    }
    with tempfile.TemporaryDirectory(prefix="threadloom-bench-") as workdir:
        async with serving(Path(workdir)) as client:
            await resume(client, await tool_call_thread(client, "1 + 1"))  # warm up
            print(f"{'scenario':<10}{'longest pause ms':>18}{'/ok p50 ms':>12}"
                  f"{'/ok max ms':>12}{'probes':>8}")  # fmt: skip
            for name, scenario in scenarios.items():
                pauses, times = [], []
                for _ in range(rounds):
                    pause, probes = await measure(client, scenario)
                    pauses.append(pause)
                    times.extend(probes)
                print(
                    f"{name:<10}{max(pauses) * 1000:>18.1f}"
                    f"{statistics.median(times) * 1000:>12.1f}"
                    f"{max(times) * 1000:>12.1f}{len(times):>8}"
                )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    asyncio.run(main(parser.parse_args().rounds))
