"""The systems compared, each opened as a `Target`: what does one run, and whose CPU it uses.

- the graph in this process, on each checkpointer (the floor);
- threadloom's server (`bench.fake_server`) as a child process, on SQLite or PostgreSQL;
- `langgraph dev` as a child process, on the same graph file.

A system that cannot be opened raises `Unavailable` saying why; the benchmark goes on without it.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import os
import re
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import psycopg

from bench.child_server import ChildServer, ChildStartError, free_port
from bench.fake_graph import GRAPH_NAME
from bench.http_runs import delete_threads, http_run, open_client, wait_until_ok
from bench.in_process import Checkpointer, compile_for, graph_run, open_checkpointer
from bench.load import Target

REPO = Path(__file__).resolve().parents[1]
START_TIMEOUT_S = 120.0
UVICORN_READY = re.compile(r"Uvicorn running on (http://127\.0\.0\.1:\d+)")
LANGGRAPH_READY = re.compile(r"Application started up|Application startup complete|Uvicorn running")


class Unavailable(Exception):
    """A system could not be measured here; the message says why."""


async def check_postgres(url: str) -> None:
    """Raise `Unavailable` unless a PostgreSQL server answers at `url`."""
    try:
        connection = await psycopg.AsyncConnection.connect(url, connect_timeout=3)
    except psycopg.Error as exc:
        raise Unavailable(f"no PostgreSQL at {url} ({str(exc).strip()})") from None
    await connection.close()


@asynccontextmanager
async def in_process(kind: Checkpointer, workdir: Path, postgres_url: str) -> AsyncIterator[Target]:
    """The compiled graph on a `kind` checkpointer, run with `ainvoke` in this process."""
    if kind == "postgres":
        await check_postgres(postgres_url)
    thread_ids: list[str] = []
    async with open_checkpointer(kind, workdir, postgres_url) as checkpointer:
        try:
            yield Target(graph_run(compile_for(checkpointer), thread_ids), time.process_time)
        finally:
            if kind == "postgres":  # the database is shared: leave it as it was
                for thread_id in thread_ids:
                    await checkpointer.adelete_thread(thread_id)


@asynccontextmanager
async def threadloom(
    backend: Checkpointer, workdir: Path, postgres_url: str, clients: int
) -> AsyncIterator[Target]:
    """threadloom's server over the zero-cost model, storing in a new SQLite file or PostgreSQL."""
    env = child_env(THREADLOOM_DB=str(workdir / f"threadloom-{backend}.sqlite"))
    env.pop("THREADLOOM_DATABASE_URL", None)
    if backend == "postgres":
        await check_postgres(postgres_url)
        env["THREADLOOM_DATABASE_URL"] = postgres_url
    command = [sys.executable, "-m", "bench.fake_server"]
    log = workdir / f"threadloom-{backend}.log"
    with ChildServer(command, env, cwd=REPO, log_path=log) as child:
        try:
            ready = await asyncio.to_thread(child.start, UVICORN_READY, START_TIMEOUT_S)
        except ChildStartError as exc:
            raise Unavailable(f"threadloom did not start: {exc}") from None
        thread_ids: list[str] = []
        async with open_client(ready.group(1), clients) as client:
            try:
                yield Target(http_run(client, thread_ids), child.cpu_seconds, child.last_error_line)
            finally:
                if backend == "postgres":  # the database is shared: leave it as it was
                    await delete_threads(client, thread_ids)


@asynccontextmanager
async def langgraph_dev(workdir: Path, clients: int, jobs_per_worker: int) -> AsyncIterator[Target]:
    """`langgraph dev` serving `bench/fake_graph.py:graph`, with its in-memory runtime."""
    # Run as a module, not as the `langgraph` script, which a venv that borrows another's
    # site-packages (a worktree's) lacks.
    if importlib.util.find_spec("langgraph_cli") is None:
        raise Unavailable("langgraph_cli not found; install the dev extra (langgraph-cli[inmem])")
    home = workdir / f"langgraph-dev-{jobs_per_worker}"
    home.mkdir()
    config = home / "langgraph.json"
    graph_path = REPO / "bench" / "fake_graph.py"
    config.write_text(
        json.dumps({"dependencies": [str(REPO)], "graphs": {GRAPH_NAME: f"{graph_path}:graph"}})
    )
    port = free_port()
    command = [
        sys.executable, "-m", "langgraph_cli", "dev", "--no-browser", "--no-reload",
        "--port", str(port), "--config", str(config), "--n-jobs-per-worker", str(jobs_per_worker),
    ]  # fmt: skip
    # Its cwd is a scratch folder: `langgraph dev` keeps its state in `.langgraph_api/` there.
    server = child_target(
        "langgraph dev", command, child_env(), home, LANGGRAPH_READY, port, clients
    )
    async with server as target:
        yield target


@asynccontextmanager
async def child_target(
    name: str,
    command: list[str],
    env: dict[str, str],
    home: Path,
    ready: re.Pattern[str],
    port: int,
    clients: int,
    health_path: str = "/ok",
) -> AsyncIterator[Target]:
    """A LangGraph-API server started by `command` in `home` (its log there too), on `port`:
    its runs, once it printed `ready` and answers `health_path`; `Unavailable` if it does not."""
    with ChildServer(command, env, cwd=home, log_path=home / "server.log") as child:
        try:
            await asyncio.to_thread(child.start, ready, START_TIMEOUT_S)
        except ChildStartError as exc:
            raise Unavailable(f"{name} did not start: {exc}") from None
        async with open_client(f"http://127.0.0.1:{port}", clients) as client:
            try:
                await wait_until_ok(client, health_path)
            except TimeoutError as exc:
                raise Unavailable(str(exc)) from None
            yield Target(http_run(client, []), child.cpu_seconds, child.last_error_line)


def child_env(**extra: str) -> dict[str, str]:
    path = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    return {
        **os.environ,
        "PYTHONPATH": path,
        "HF_HUB_OFFLINE": "1",
        # Nothing leaves loopback: no tracing, no analytics.
        "LANGSMITH_TRACING": "false",
        "LANGCHAIN_TRACING_V2": "false",
        "LANGGRAPH_CLI_NO_ANALYTICS": "1",
        **extra,
    }
