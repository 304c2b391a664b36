"""Drives a fixed number of runs and sums up latency, rate and CPU.

Two shapes of load:
- `measure_interleaved`: several systems one run at a time, taking turns. Each run sees the
  same machine as its neighbours, so the ratio of two systems' latencies holds even when other
  work on the machine (a busy disk, another process) slows everything for a while.
- `measure`: one system under `clients` concurrent clients, for the rate it sustains.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

RunOnce = Callable[[], Awaitable[None]]
CpuClock = Callable[[], float]


@dataclass(frozen=True, slots=True)
class Target:
    """A system ready for runs.

    `cpu_clock` reads the CPU seconds of whatever executes the runs (this process, or a server
    process); `last_error` names the last exception a server logged, to explain a failed run.
    """

    run_once: RunOnce
    cpu_clock: CpuClock = time.process_time
    last_error: Callable[[], str | None] = lambda: None


@dataclass(frozen=True, slots=True)
class Measurement:
    """What was seen: each run's latency, the wall time of all runs and the CPU they used."""

    clients: int
    latencies_s: list[float]
    wall_s: float
    cpu_s: float

    @property
    def runs(self) -> int:
        return len(self.latencies_s)

    @property
    def p50_ms(self) -> float:
        return statistics.median(self.latencies_s) * 1000

    @property
    def p90_ms(self) -> float:
        ordered = sorted(self.latencies_s)
        return ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))] * 1000

    @property
    def runs_per_s(self) -> float:
        return self.runs / self.wall_s

    @property
    def cpu_ms_per_run(self) -> float:
        return self.cpu_s / self.runs * 1000


async def measure_interleaved(
    targets: Mapping[str, Target], runs: int
) -> tuple[dict[str, Measurement], dict[str, Exception]]:
    """`runs` sequential runs of each target, in rounds of one run each, rotating who goes first.

    A target whose run fails drops out; it is returned among the failures with its exception.
    """
    names = list(targets)
    if not names:
        return {}, {}
    latencies: dict[str, list[float]] = {name: [] for name in names}
    cpu_s = dict.fromkeys(names, 0.0)
    failures: dict[str, Exception] = {}
    for round_number in range(runs):
        start = round_number % len(names)
        for name in names[start:] + names[:start]:
            if name in failures:
                continue
            target = targets[name]
            cpu_before, started = target.cpu_clock(), time.perf_counter()
            try:
                await target.run_once()
            except Exception as exc:  # a failing system is a finding, the others go on
                failures[name] = exc
                continue
            latencies[name].append(time.perf_counter() - started)
            cpu_s[name] += target.cpu_clock() - cpu_before
    measured = {
        name: Measurement(1, latencies[name], sum(latencies[name]), cpu_s[name])
        for name in names
        if name not in failures and latencies[name]
    }
    return measured, failures


async def measure(target: Target, runs: int, clients: int) -> Measurement:
    """Do `runs` runs with `clients` clients, each starting its next run when its last ends.

    A failing run ends the measurement with its exception: a system that fails under load has
    no rate to report.
    """
    if runs < 1 or clients < 1:
        raise ValueError(f"measure needs at least one run and one client, got {runs=} {clients=}")
    latencies: list[float] = []
    # One iterator shared by all clients: each run is taken by exactly one of them.
    pending = iter(range(runs))

    async def client() -> None:
        for _ in pending:
            started = time.perf_counter()
            await target.run_once()
            latencies.append(time.perf_counter() - started)

    cpu_before, started = target.cpu_clock(), time.perf_counter()
    try:
        async with asyncio.TaskGroup() as group:
            for _ in range(min(clients, runs)):
                group.create_task(client())
    except ExceptionGroup as failures:
        # The first run that failed stops the measurement; the other clients were cancelled.
        raise failures.exceptions[0] from None
    wall_s = time.perf_counter() - started
    return Measurement(clients, latencies, wall_s, target.cpu_clock() - cpu_before)
