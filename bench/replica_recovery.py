"""`python -m bench.replica_recovery [--lease 30 10] [--rounds 3] [--threads 4]`: how long after a
replica is killed (-9) its runs settle on a survivor.

Two replicas on one PostgreSQL (a database of its own, dropped at the end); on the first, each
thread gets a run that stalls in its model call and a run queued behind it. The first replica
is killed; the survivor (same lease) takes the runs over. Measured from the kill: when each
stalled run is settled (interrupted, `RECOVERY=interrupt`) and when each queued run has run to
its end there. Replica ids are unique, so the survivor waits for the lease to run out: a
replica restarted with the killed one's id would settle them at once.

`python -m bench.replica_recovery serve` is the replica: `threadloom serve` over the zero-cost
model, stalling a run whose question says "stall".
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import psycopg

from bench.child_server import ChildServer
from bench.fake_graph import TOOLS, ZeroCostModel

ADMIN_URL = os.environ.get(
    "THREADLOOM_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1/postgres"
)
READY = re.compile(r"Uvicorn running on (http://127\.0\.0\.1:\d+)")
REPO = Path(__file__).resolve().parents[1]


class StallingModel(ZeroCostModel):
    """The zero-cost model, except that a question with "stall" in it never gets an answer."""

    async def _agenerate(self, messages: list[Any], *args: Any, **kwargs: Any) -> Any:
        if "stall" in str(messages[-1].content):
            await asyncio.Event().wait()
        return await super()._agenerate(messages, *args, **kwargs)


def serve() -> int:
    from threadloom.service.cli.commands import main
    from threadloom.service.deployment.builtin_agent import agent_graph

    os.environ["THREADLOOM_TOOLS"] = ",".join(TOOLS)
    return main(
        ["serve", "--host", "127.0.0.1", "--port", "0"],
        lambda settings: {"agent": agent_graph(settings, StallingModel())},
    )


def ask(text: str) -> dict[str, Any]:
    return {"assistant_id": "agent", "input": {"messages": [{"role": "user", "content": text}]}}


def replica(name: str, url: str, lease_s: float, folder: Path) -> tuple[ChildServer, str]:
    env = {
        **os.environ,
        "THREADLOOM_DATABASE_URL": url,
        "THREADLOOM_REPLICA_ID": name,
        "THREADLOOM_LEASE_TTL_S": str(lease_s),
        "HF_HUB_OFFLINE": "1",
    }
    command = [sys.executable, "-m", "bench.replica_recovery", "serve"]
    server = ChildServer(command, env, REPO, folder / f"{name}.log")
    return server, server.start(READY, timeout_s=120).group(1)


async def one_round(url: str, lease_s: float, threads: int, folder: Path) -> tuple[list, list]:
    victim, victim_url = replica(f"victim-{uuid.uuid4().hex[:6]}", url, lease_s, folder)
    survivor, survivor_url = replica(f"survivor-{uuid.uuid4().hex[:6]}", url, lease_s, folder)
    try:
        async with (
            httpx.AsyncClient(base_url=victim_url, timeout=600) as a,
            httpx.AsyncClient(base_url=survivor_url, timeout=600) as b,
        ):
            ids = [(await b.post("/threads", json={})).json()["thread_id"] for _ in range(threads)]
            runs = []
            for t in ids:
                stalled = (await a.post(f"/threads/{t}/runs", json=ask("stall 6 * 7?"))).json()
                queued = (await a.post(f"/threads/{t}/runs", json=ask("6 * 7?"))).json()
                runs.append((t, stalled["run_id"], queued["run_id"]))
            for t, stalled, _ in runs:  # wait until each stalled run is under way
                while (await b.get(f"/threads/{t}/runs/{stalled}")).json()["status"] != "running":
                    await asyncio.sleep(0.05)
            victim.kill()
            killed_at = time.monotonic()

            async def settled(t: str, run_id: str) -> float:
                await b.get(f"/threads/{t}/runs/{run_id}/join")
                return time.monotonic() - killed_at

            running = await asyncio.gather(*(settled(t, s) for t, s, _ in runs))
            queued = await asyncio.gather(*(settled(t, q) for t, _, q in runs))
            statuses = {
                (await b.get(f"/threads/{t}/runs/{q}")).json()["status"] for t, _, q in runs
            }
            assert statuses == {"success"}, statuses
            return running, queued
    finally:
        victim.stop()
        survivor.stop()


async def measure(leases: list[float], rounds: int, threads: int) -> None:
    database = f"threadloom_recovery_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {database}")
    url = ADMIN_URL.rsplit("/", 1)[0] + "/" + database
    print(
        "| lease (renewed every third) | running runs settled after the kill | queued runs done |"
    )
    print("|---|---|---|")
    try:
        with tempfile.TemporaryDirectory() as folder:
            for lease in leases:
                running: list[float] = []
                queued: list[float] = []
                for _ in range(rounds):
                    r, q = await one_round(url, lease, threads, Path(folder))
                    running += r
                    queued += q
                print(f"| {lease:g} s | {_spread(running)} | {_spread(queued)} |", flush=True)
    finally:
        with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
            admin.execute(f"DROP DATABASE {database} WITH (FORCE)")


def _spread(values: list[float]) -> str:
    return f"{min(values):.1f}–{max(values):.1f} s (median {statistics.median(values):.1f})"


def main() -> int:
    if sys.argv[1:2] == ["serve"]:
        return serve()
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lease", type=float, nargs="+", default=[30.0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=4)
    args = parser.parse_args()
    asyncio.run(measure(args.lease, args.rounds, args.threads))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
