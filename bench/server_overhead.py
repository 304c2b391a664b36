"""What threadloom's server adds to a run, beside other LangGraph servers and the bare graph.

    python -m bench.server_overhead            # full run, about three minutes on 2 cores
    python -m bench.server_overhead --quick    # the same comparison, smaller: two minutes
    python -m bench.server_overhead --no-peers # without Aegra and langgraph-api

Every system runs the same graph (`bench/fake_graph.py`: the real agent graph over a model that
costs nothing, one tool round per run, a new thread per run), all in this one invocation:

- in-process: `graph.ainvoke` with InMemorySaver, with the service's own SQLite saver and with
  LangGraph's AsyncSqliteSaver on a file and (when reachable) AsyncPostgresSaver: the floor any
  server over the graph stands on;
- threadloom: its server as a child process, on a SQLite file and on PostgreSQL;
- its peers, the other self-hosted LangGraph servers on PostgreSQL (`bench/peers.py`): Aegra
  and langgraph-api on langgraph-runtime-pg, each installed from PyPI into a virtual
  environment of its own under `build/peers/` (the first run takes a few minutes; `--no-peers`
  skips them) and counted on a database of its own;
- `langgraph dev`: the LangGraph CLI's development server, as a child process.

A run over HTTP is `POST /threads` then `POST /threads/{id}/runs/wait`. Sequential latency
(p50, one client) is measured with the in-process systems, threadloom and its peers all open,
taking turns run by run, so that a slow moment of the shared machine (its disk above all: every
checkpoint is a commit) hits all of them alike. Then each system alone serves `--clients`
concurrent clients (runs per second). CPU per run is the server process's (this process's for
in-process runs). The systems on PostgreSQL also have the transactions a run commits counted
(`bench.pg_transactions`).

The ratios at the end are set against the goals of issue 4, for each threadloom backend:
sequential p50 over `langgraph dev`'s (<= 1/30) and over the in-process graph on the same
checkpointer (<= 1.3); runs/s at `--clients` over `langgraph dev`'s best (>= 1.5) and over the
in-process graph's (>= 0.8). For SQLite the in-process ratios are also given against
AsyncSqliteSaver, the saver a library user of LangGraph would reach for. Where a system cannot
start (no PostgreSQL, no `langgraph` CLI, a peer that will not install) or fails, the table
says why and the rest still runs.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from collections.abc import Mapping, Sequence
from contextlib import AbstractAsyncContextManager, AsyncExitStack
from dataclasses import dataclass
from pathlib import Path

from bench.in_process import CHECKPOINTER_NAMES, Checkpointer
from bench.load import Measurement, Target, measure, measure_interleaved
from bench.peers import DEFAULT_REDIS_URL, PEERS, Peer, peer_database_url, peer_server
from bench.pg_transactions import Transactions, count_transactions
from bench.systems import Unavailable, in_process, langgraph_dev, threadloom

DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"
LANGGRAPH_DEFAULT_JOBS = 10
BACKENDS: tuple[Checkpointer, ...] = ("sqlite", "postgres")
# Issue 11: what a run may cost PostgreSQL, reads included.
MAX_TRANSACTIONS = 12


@dataclass(frozen=True, slots=True)
class Sizes:
    runs: int
    concurrent_runs: int
    clients: int
    langgraph_runs: int
    warmup: int


@dataclass(frozen=True, slots=True)
class Result:
    name: str
    sequential: Measurement | None = None
    concurrent: Measurement | None = None
    failure: str | None = None
    transactions: Transactions | None = None


@dataclass(frozen=True, slots=True)
class Goal:
    label: str
    value: float
    bound: float
    at_most: bool

    @property
    def met(self) -> bool:
        return self.value <= self.bound if self.at_most else self.value >= self.bound


async def bench_side_by_side(
    systems: Mapping[str, AbstractAsyncContextManager[Target]],
    sequential_runs: int,
    sizes: Sizes,
    warmup: int,
    on_postgres: Mapping[str, str] | None = None,
) -> list[Result]:
    """Open all `systems` at once; time their sequential runs interleaved (none: skip), count
    the transactions of a run of those `on_postgres` (name: their database URL), then load
    each one alone.

    A system that cannot start, or whose runs fail, is reported with the reason and what was
    measured before; the others go on.
    """
    failures: dict[str, str] = {}
    sequential: dict[str, Measurement] = {}
    concurrent: dict[str, Measurement] = {}
    transactions: dict[str, Transactions] = {}
    async with AsyncExitStack() as stack:
        _progress(f"starting {', '.join(systems)}")
        # Started together: server start-up (imports above all) is most of a quick run.
        opened = await asyncio.gather(
            *(stack.enter_async_context(system) for system in systems.values()),
            return_exceptions=True,
        )
        targets: dict[str, Target] = {}
        for name, target in zip(systems, opened, strict=True):
            if isinstance(target, Target):
                targets[name] = target
            elif isinstance(target, Exception):  # one that cannot start is reported, not fatal
                failures[name] = _describe(target)
            else:
                raise target

        def drop(name: str, exc: Exception) -> None:
            failures[name] = _describe(exc, targets.pop(name))

        _, failed = await measure_interleaved(targets, warmup)
        for name, exc in failed.items():
            drop(name, exc)
        if sequential_runs and targets:
            _progress(f"{sequential_runs} sequential runs each, taking turns: {', '.join(targets)}")
            sequential, failed = await measure_interleaved(targets, sequential_runs)
            for name, exc in failed.items():
                drop(name, exc)
        for name, url in (on_postgres or {}).items():
            if (target := targets.get(name)) is None:
                continue
            _progress(f"{sizes.runs} runs alone, counting PostgreSQL transactions: {name}")
            try:
                transactions[name] = await count_transactions(target.run_once, sizes.runs, url)
            except Exception as exc:
                drop(name, exc)
        for name, target in list(targets.items()):
            _progress(f"{sizes.concurrent_runs} runs at {sizes.clients} clients: {name}")
            try:
                concurrent[name] = await measure(target, sizes.concurrent_runs, sizes.clients)
            except Exception as exc:  # failing under load is a finding to report
                drop(name, exc)
    for name, reason in failures.items():
        _progress(f"{name} failed: {reason}")
    return [
        Result(
            name,
            sequential.get(name),
            concurrent.get(name),
            failures.get(name),
            transactions.get(name),
        )
        for name in systems
    ]


def _describe(exc: Exception, target: Target | None = None) -> str:
    """One line: the exception, and the last error the server logged, if it logged one."""
    lines = str(exc).strip().splitlines() or [""]
    reason = lines[0] if isinstance(exc, Unavailable) else f"{type(exc).__name__}: {lines[0]}"
    logged = target.last_error() if target else None
    return f"{reason} [server log: {logged}]" if logged else reason


def _progress(message: str) -> None:
    print(f"  {message}", file=sys.stderr, flush=True)


async def run_all(
    sizes: Sizes,
    backends: Sequence[Checkpointer],
    postgres_url: str,
    quick: bool,
    peers: Sequence[Peer] = PEERS,
    redis_url: str = DEFAULT_REDIS_URL,
) -> list[Result]:
    """threadloom beside the in-process floors and its `peers`, then `langgraph dev` (its runs
    take ~1 s)."""
    with tempfile.TemporaryDirectory(prefix="threadloom-bench-") as scratch:
        workdir = Path(scratch)
        systems: dict[str, AbstractAsyncContextManager[Target]] = {
            f"in-process {CHECKPOINTER_NAMES[kind]}": in_process(kind, workdir, postgres_url)
            for kind in ("memory", *_floors(backends))
        }
        for backend in backends:
            systems[f"threadloom {backend}"] = threadloom(
                backend, workdir, postgres_url, sizes.clients
            )
        on_postgres = {
            name: postgres_url
            for name in systems
            if name.endswith(("postgres", CHECKPOINTER_NAMES["postgres"]))
        }
        # Each peer on a database of its own, so that its count is its own.
        for peer in peers:
            systems[peer.name] = peer_server(peer, workdir, postgres_url, redis_url, sizes.clients)
            on_postgres[peer.name] = peer_database_url(postgres_url, peer)
        results = await bench_side_by_side(
            systems, sizes.runs, sizes, sizes.warmup, on_postgres
        )
        # Its default job count, and (but for a quick run) one job per client in case that
        # serves the load better.
        job_counts = [LANGGRAPH_DEFAULT_JOBS] if quick else [LANGGRAPH_DEFAULT_JOBS, sizes.clients]
        for position, jobs in enumerate(dict.fromkeys(job_counts)):
            system = langgraph_dev(workdir, sizes.clients, jobs)
            sequential_runs = sizes.langgraph_runs if position == 0 else 0
            results += await bench_side_by_side(
                {f"langgraph dev jobs={jobs}": system}, sequential_runs, sizes, warmup=1
            )
    return results


def _floors(backends: Sequence[Checkpointer]) -> list[Checkpointer]:
    """The in-process checkpointers each backend is set against (see the module's doc)."""
    return [floor for backend in backends for floor in _FLOORS[backend]]


_FLOORS: dict[Checkpointer, tuple[Checkpointer, ...]] = {
    "sqlite": ("sqlite", "sqlite-aio"),
    "postgres": ("postgres",),
}


def goals(results: Sequence[Result], backends: Sequence[Checkpointer]) -> list[Goal]:
    """The ratios of issue 4 §5, for each backend that was measured."""
    by_name = {result.name: result for result in results}
    langgraph = [result for name, result in by_name.items() if name.startswith("langgraph dev")]
    langgraph_p50 = next((r.sequential.p50_ms for r in langgraph if r.sequential), None)
    langgraph_best = max((r.concurrent.runs_per_s for r in langgraph if r.concurrent), default=None)
    found: list[Goal] = []
    for backend in backends:
        service = by_name.get(f"threadloom {backend}")
        if service and service.transactions:
            label = f"{backend}: committed transactions per run"
            found.append(Goal(label, service.transactions.committed, MAX_TRANSACTIONS, True))
        if service and service.sequential and langgraph_p50:
            label = f"{backend}: seq p50 / langgraph dev seq p50"
            found.append(Goal(label, service.sequential.p50_ms / langgraph_p50, 1 / 30, True))
        if service and service.concurrent and langgraph_best:
            label = f"{backend}: runs/s / langgraph dev best runs/s"
            found.append(Goal(label, service.concurrent.runs_per_s / langgraph_best, 1.5, False))
        for kind in _FLOORS[backend]:
            floor_name = f"in-process {CHECKPOINTER_NAMES[kind]}"
            floor = by_name.get(floor_name)
            if service and service.sequential and floor and floor.sequential:
                label = f"{backend}: seq p50 / {floor_name} seq p50"
                ratio = service.sequential.p50_ms / floor.sequential.p50_ms
                found.append(Goal(label, ratio, 1.3, at_most=True))
            if service and service.concurrent and floor and floor.concurrent:
                label = f"{backend}: runs/s / {floor_name} runs/s"
                ratio = service.concurrent.runs_per_s / floor.concurrent.runs_per_s
                found.append(Goal(label, ratio, 0.8, at_most=False))
    return found


def report(results: Sequence[Result], found: Sequence[Goal], sizes: Sizes) -> str:
    """The table of measurements, then the ratios against their goals."""
    header = (
        f"{'system':<30}{'seq p50 ms':>11}{'seq p90 ms':>11}{'CPU ms/run':>11}"
        f"{f'runs/s @{sizes.clients}':>13}{'CPU ms/run':>11}{'txns/run':>10}{'wrote':>7}"
    )
    lines = [header, "-" * len(header)]
    for result in results:
        seq, load = result.sequential, result.concurrent
        cells = [result.name.ljust(30)]
        cells += (
            [f"{seq.p50_ms:>11.1f}", f"{seq.p90_ms:>11.1f}", f"{seq.cpu_ms_per_run:>11.1f}"]
            if seq
            else [f"{'-':>11}"] * 3
        )
        cells += (
            [f"{load.runs_per_s:>13.1f}", f"{load.cpu_ms_per_run:>11.1f}"]
            if load
            else [f"{'-':>13}", f"{'-':>11}"]
        )
        if (counted := result.transactions) is not None:
            cells += [f"{counted.committed:>10.1f}", f"{counted.wrote:>7.1f}"]
        lines.append("".join(cells))
        if result.failure is not None:
            lines.append(f"    failed: {result.failure[:300]}")
    lines += ["", f"{'threadloom ratio':<60}{'value':>9}  goal"]
    for goal in found:
        relation = "<=" if goal.at_most else ">="
        verdict = "met" if goal.met else "MISSED"
        lines.append(
            f"{goal.label:<60}{_ratio(goal.value):>9}  {relation} {_ratio(goal.bound):<6} {verdict}"
        )
    if not found:
        lines.append("(none: threadloom was not measured)")
    return "\n".join(lines)


def _ratio(value: float) -> str:
    # Small ratios read better as fractions: 1/52 rather than 0.02.
    return f"1/{1 / value:.0f}" if value < 0.1 else f"{value:.3g}"


def parse_sizes(args: argparse.Namespace) -> Sizes:
    """The sizes asked for; those not given default to the full run's, or the quick run's."""

    def size(given: int | None, full: int, quick: int) -> int:
        return given if given is not None else (quick if args.quick else full)

    return Sizes(
        runs=size(args.runs, 30, 10),
        concurrent_runs=size(args.concurrent_runs, 200, 100),
        clients=args.clients,
        langgraph_runs=size(args.langgraph_runs, 10, 3),
        warmup=size(None, 5, 2),
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench.server_overhead",
        description="threadloom's server beside `langgraph dev` and the in-process graph.",
    )
    parser.add_argument("--quick", action="store_true", help="smaller sizes: under a minute")
    parser.add_argument("--runs", type=int, help="sequential runs per system (30; quick 10)")
    parser.add_argument(
        "--concurrent-runs", type=int, help="runs under load per system (200; quick 100)"
    )
    parser.add_argument("--clients", type=int, default=50, help="concurrent clients (50)")
    parser.add_argument(
        "--langgraph-runs", type=int, help="sequential runs of langgraph dev, ~1 s each (10)"
    )
    parser.add_argument(
        "--backends",
        default=",".join(BACKENDS),
        help="threadloom storage backends to measure: sqlite,postgres",
    )
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES_URL, help="PostgreSQL URL")
    parser.add_argument(
        "--no-peers", action="store_true", help="skip the other servers on PostgreSQL (Aegra, ...)"
    )
    parser.add_argument(
        "--redis-url", default=DEFAULT_REDIS_URL, help="Redis for the peers that need one"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    names = [name.strip() for name in args.backends.split(",") if name.strip()]
    backends = [backend for backend in BACKENDS if backend in names]
    if unknown := sorted(set(names) - set(backends)):
        parser.error(f"unknown backend {', '.join(unknown)}; choose from {', '.join(BACKENDS)}")
    sizes = parse_sizes(args)
    if min(sizes.runs, sizes.concurrent_runs, sizes.clients, sizes.langgraph_runs) < 1:
        parser.error("--runs, --concurrent-runs, --clients and --langgraph-runs must be >= 1")
    print(
        f"server overhead: {sizes.runs} sequential runs ({sizes.langgraph_runs} for langgraph "
        f"dev), {sizes.concurrent_runs} runs at {sizes.clients} clients, per system",
        file=sys.stderr,
    )
    peers = () if args.no_peers else PEERS
    results = asyncio.run(
        run_all(sizes, backends, args.postgres_url, args.quick, peers, args.redis_url)
    )
    print(report(results, goals(results, backends), sizes))
    measured = any(r.name.startswith("threadloom") and r.failure is None for r in results)
    return 0 if measured else 1


if __name__ == "__main__":
    raise SystemExit(main())
