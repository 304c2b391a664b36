"""Where threadloom's time per run goes beyond the bare graph: `python -m bench.service_profile`.

The service app runs in this process behind `httpx.ASGITransport` (no sockets, no uvicorn),
over the zero-cost model, on a new SQLite file; the floor is the same compiled graph on the
same checkpointer (`EmbeddedSqliteSaver`). Both do the same sequential runs (a new thread, then
a wait run) and print:

1. wall time per run of each;
2. the functions whose own CPU time per run (cProfile `tottime`) grows most from floor to
   service, and the service's own time by package;
3. SQLite statements per run by caller, and how many of them write (each lone write outside a
   transaction commits on its own).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import pstats
import sqlite3
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bench.fake_graph import TOOLS, ZeroCostModel
from bench.http_runs import http_run
from bench.in_process import compile_for, graph_run, open_checkpointer
from bench.load import RunOnce
from threadloom.service.app import create_app
from threadloom.service.deployment.builtin_agent import agent_graph
from threadloom.service.settings import Settings

REPO = Path(__file__).resolve().parents[1]
# Own time is grouped by the first of these path parts found in a function's file.
AREAS = (
    "service",
    "langgraph",
    "langchain_core",
    "pydantic",
    "fastapi",
    "starlette",
    "httpx",
    "httpcore",
    "sqlite3",
    "orjson",
    "asyncio",
    "uuid",
    "json",
    "logging",
)
# Frames skipped to name who made an SQLite statement: the service's SQLite adapter and the
# event loop, so that the table or run code above them is named instead.
_ADAPTER_MODULES = frozenset({"threadloom.service.storage.sqlite", "contextlib"})
_WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE", "COMMIT")

FunctionKey = tuple[str, int, str]
# What a profiled target gives: one run, and the SQLite connection its storage uses.
Target = tuple[RunOnce, sqlite3.Connection]


@dataclass
class SqlTally:
    """SQLite statements by caller, and how many of them write."""

    calls: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    writes: dict[str, int] = field(default_factory=lambda: defaultdict(int))


@asynccontextmanager
async def service_target(workdir: Path) -> AsyncIterator[Target]:
    """threadloom's app in this process, reached through an ASGI transport."""
    settings = Settings(db=workdir / "profile.sqlite", tools=TOOLS)
    app = create_app(settings, {"agent": agent_graph(settings, ZeroCostModel())})
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://threadloom") as client,
    ):
        yield http_run(client, []), app.state.services.checkpointer.conn


@asynccontextmanager
async def floor_target(workdir: Path) -> AsyncIterator[Target]:
    """The same graph on the same SQLite saver, invoked directly."""
    async with open_checkpointer("sqlite", workdir, postgres_url="") as checkpointer:
        yield graph_run(compile_for(checkpointer), []), checkpointer.conn


async def repeat(run_once: RunOnce, runs: int) -> float:
    """Do `runs` runs one after another; the wall seconds they took."""
    started = time.perf_counter()
    for _ in range(runs):
        await run_once()
    return time.perf_counter() - started


async def profile(run_once: RunOnce, runs: int) -> pstats.Stats:
    # CPU time of this thread (the event loop's), not wall time: what other processes on a
    # shared machine do, and what other threads wait for, do not count.
    profiler = cProfile.Profile(time.thread_time)
    profiler.enable()
    try:
        await repeat(run_once, runs)
    finally:
        profiler.disable()
    return pstats.Stats(profiler)


@contextmanager
def tally_sql(conn: sqlite3.Connection, tally: SqlTally) -> Iterator[None]:
    """Count every statement `conn` runs, by the code that made it (statements run inline, on
    this thread, so the caller's frames are still there when SQLite reports the statement)."""

    def traced(statement: str) -> None:
        caller = _caller()
        tally.calls[caller] += 1
        tally.writes[caller] += statement.lstrip().upper().startswith(_WRITES)

    conn.set_trace_callback(traced)
    try:
        yield
    finally:
        conn.set_trace_callback(None)


def _caller() -> str:
    frame = sys._getframe(2)
    while frame.f_back and (
        frame.f_globals.get("__name__", "") in _ADAPTER_MODULES
        or frame.f_globals.get("__name__", "").startswith("asyncio")
    ):
        frame = frame.f_back
    return f"{frame.f_globals.get('__name__', '?')}:{frame.f_code.co_name}"


def own_time(stats: pstats.Stats) -> dict[FunctionKey, float]:
    """Own seconds per function, leaving out the event loop's wait for I/O (idle, not work)."""
    rows = stats.stats.items()  # type: ignore[attr-defined]
    return {key: row[2] for key, row in rows if not _is_idle(key)}


def idle_time(stats: pstats.Stats) -> float:
    """Seconds the event loop waited in `select`/`epoll`: for another thread, a socket, a timer."""
    rows = stats.stats.items()  # type: ignore[attr-defined]
    return sum(row[2] for key, row in rows if _is_idle(key))


def _is_idle(key: FunctionKey) -> bool:
    return key[0] == "~" and "of 'select." in key[2]


def area_of(key: FunctionKey) -> str:
    path = key[0]
    if path.startswith("~") or path.startswith("<"):
        return "builtins"
    parts = Path(path).parts
    return next((area for area in AREAS if area in parts or f"{area}.py" in parts), "other")


def short(key: FunctionKey) -> str:
    path, line, name = key
    for root in (*sys.path[::-1], str(REPO)):
        if root and path.startswith(root + "/"):
            path = path[len(root) + 1 :]
            break
    return f"{path}:{line}({name})" if line else name


def growth(
    service: dict[FunctionKey, float], floor: dict[FunctionKey, float], runs: int, top: int
) -> list[tuple[float, float, FunctionKey]]:
    """The functions whose own time per run grew most: (service ms/run, floor ms/run, key)."""
    rows = [
        (seconds * 1000 / runs, floor.get(key, 0.0) * 1000 / runs, key)
        for key, seconds in service.items()
    ]
    rows.sort(key=lambda row: row[1] - row[0])
    return rows[:top]


def by_area(times: dict[FunctionKey, float], runs: int) -> list[tuple[str, float]]:
    totals: dict[str, float] = defaultdict(float)
    for key, seconds in times.items():
        totals[area_of(key)] += seconds * 1000 / runs
    return sorted(totals.items(), key=lambda item: -item[1])


async def measure_target(
    opener: Callable[[Path], Any], workdir: Path, runs: int, warmup: int
) -> tuple[float, pstats.Stats, SqlTally]:
    """Wall ms per run, the cProfile stats and the SQLite tally of `runs` runs (separate passes,
    so that neither instrument slows the other)."""
    tally = SqlTally()
    async with opener(workdir) as (run_once, conn):
        await repeat(run_once, warmup)
        wall_ms = await repeat(run_once, runs) * 1000 / runs
        stats = await profile(run_once, runs)
        with tally_sql(conn, tally):
            await repeat(run_once, runs)
    return wall_ms, stats, tally


def print_sql(name: str, tally: SqlTally, runs: int) -> None:
    """One line per caller that makes at least one statement per run; the rest (background
    upkeep) summed up as one."""
    print(f"\nSQLite per run, {name}: statements, writes among them")
    rows = sorted(tally.calls, key=lambda caller: -tally.calls[caller])
    frequent = [caller for caller in rows if tally.calls[caller] >= runs]
    rare = [caller for caller in rows if tally.calls[caller] < runs]
    for label, callers in [(caller, [caller]) for caller in frequent] + [
        ("(callers less than once per run)", rare),
        ("total", rows),
    ]:
        if not callers:
            continue
        calls = sum(tally.calls[caller] for caller in callers) / runs
        writes = sum(tally.writes[caller] for caller in callers) / runs
        print(f"  {label:<64}{calls:>6.1f}{writes:>6.1f}")


async def run(runs: int, warmup: int, top: int) -> None:
    with tempfile.TemporaryDirectory(prefix="threadloom-profile-") as scratch:
        service_dir, floor_dir = Path(scratch, "service"), Path(scratch, "floor")
        service_dir.mkdir()
        floor_dir.mkdir()
        service = await measure_target(service_target, service_dir, runs, warmup)
        floor = await measure_target(floor_target, floor_dir, runs, warmup)
    (service_ms, service_stats, service_sql), (floor_ms, floor_stats, floor_sql) = service, floor
    service_own, floor_own = own_time(service_stats), own_time(floor_stats)
    service_cpu = sum(service_own.values()) * 1000 / runs
    floor_cpu = sum(floor_own.values()) * 1000 / runs
    print(f"{runs} sequential runs each (new thread + wait run), after {warmup} warm-up runs")
    print(f"  service (ASGI, in process): {service_ms:7.2f} ms/run wall")
    print(f"  floor (graph.ainvoke):      {floor_ms:7.2f} ms/run wall")
    print(
        f"  profiled own time, main thread: service {service_cpu:.2f} ms/run, "
        f"floor {floor_cpu:.2f} ms/run (cProfile inflates both)"
    )
    print(
        f"  event loop idle (waiting for a socket, a timer or a thread): service "
        f"{idle_time(service_stats) * 1000 / runs:.2f} ms/run, "
        f"floor {idle_time(floor_stats) * 1000 / runs:.2f} ms/run"
    )
    print(f"\nTop {top} functions by growth of own time per run (service ms, floor ms, +ms)")
    for service_per_run, floor_per_run, key in growth(service_own, floor_own, runs, top):
        grown = service_per_run - floor_per_run
        print(f"  {service_per_run:7.3f} {floor_per_run:7.3f} {grown:+7.3f}  {short(key)}")
    print("\nOwn time per run by package (service ms, floor ms)")
    floor_areas = dict(by_area(floor_own, runs))
    for area, ms in by_area(service_own, runs):
        print(f"  {area:<16}{ms:8.3f}{floor_areas.get(area, 0.0):8.3f}")
    print_sql("service", service_sql, runs)
    print_sql("floor", floor_sql, runs)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.service_profile",
        description="Profile threadloom's sequential run path against the in-process graph.",
    )
    parser.add_argument("--runs", type=int, default=100, help="profiled runs (100)")
    parser.add_argument("--warmup", type=int, default=10, help="runs before profiling (10)")
    parser.add_argument("--top", type=int, default=30, help="functions to list (30)")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be >= 1")
    asyncio.run(run(args.runs, args.warmup, args.top))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
