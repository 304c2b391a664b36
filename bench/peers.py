"""Other self-hosted LangGraph servers on PostgreSQL, run as peers of threadloom (issue 11).

- Aegra (`aegra-api`): FastAPI over SQLAlchemy and LangGraph's Postgres saver; `uvicorn
  aegra_api.main:app`, reading `aegra.json` (`AEGRA_CONFIG`) and `DATABASE_URL`. Version 0.6.0
  imports `sqlalchemy.ext.asyncio` without declaring greenlet, which SQLAlchemy 2.1 no longer
  brings along, so greenlet is installed beside it.
- langgraph-api on `langgraph-runtime-pg`: LangChain's open-source server application
  (`uvicorn langgraph_api.server:app`, what `langgraph up`'s image runs) over an MIT PostgreSQL
  and Redis runtime (`LANGGRAPH_RUNTIME_EDITION=pg`), reading `LANGSERVE_GRAPHS`,
  `DATABASE_URI` and `REDIS_URI`. The open-source wheel's licence check is a no-op.

Each is installed from PyPI, pinned, into a virtual environment of its own under
`build/peers/<slug>/`, with what `bench/fake_graph.py` imports and threadloom itself (editable,
without its dependencies: the graph needs none of torch, and a constraint keeps pip from
installing it). A stamp naming what was installed lets later runs skip pip. Each serves the
same graph file on a PostgreSQL database of its own, created empty for the run and dropped
after, so that its transactions are counted apart. A peer that cannot be installed or started
raises `Unavailable`: the benchmark says why and goes on.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlsplit

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

from bench.child_server import free_port
from bench.fake_graph import GRAPH_NAME
from bench.load import Target
from bench.systems import (
    REPO,
    UVICORN_READY,
    Unavailable,
    check_postgres,
    child_env,
    child_target,
)

PEERS_HOME = REPO / "build" / "peers"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/13"
GRAPH_SPEC = f"{REPO / 'bench' / 'fake_graph.py'}:graph"
# What `bench/fake_graph.py` imports besides threadloom (see pyproject.toml for the ranges).
GRAPH_REQUIREMENTS = (
    "langchain-core>=1.0,<2",
    "langgraph>=1.2,<2",
    "langchain-mcp-adapters>=0.3,<0.4",
    "pydantic-settings>=2.4",
    "httpx>=0.27",
)
# A peer whose dependencies want torch fails to install (and is reported) rather than pull it.
NO_TORCH = "torch<0\n"
INSTALL_TIMEOUT_S = 900.0
# Fail soon without a network rather than after pip's default retries.
PIP_NETWORK = ("--timeout", "30", "--retries", "2")


@dataclass(frozen=True, slots=True)
class Place:
    """Where a peer runs: its interpreter, scratch folder, port and storage."""

    python: Path
    home: Path
    port: int
    database_url: str
    redis_url: str


@dataclass(frozen=True, slots=True)
class Launch:
    """How to start a peer, and the route that answers once it serves."""

    command: list[str]
    env: Mapping[str, str]
    health_path: str


@dataclass(frozen=True, slots=True)
class Peer:
    """A server to compare: its name in the table, its folder and database name, what pip
    installs (pinned, so that a figure names a version) and how it starts."""

    name: str
    slug: str
    requirements: tuple[str, ...]
    launch: Callable[[Place], Launch]
    needs_redis: bool = False


def _uvicorn(place: Place, app: str) -> list[str]:
    return [
        str(place.python), "-m", "uvicorn", app, "--host", "127.0.0.1", "--port", str(place.port)
    ]  # fmt: skip


def _aegra(place: Place) -> Launch:
    config = place.home / "aegra.json"
    config.write_text(json.dumps({"graphs": {GRAPH_NAME: GRAPH_SPEC}}))
    env = {"AEGRA_CONFIG": str(config), "DATABASE_URL": place.database_url}
    return Launch(_uvicorn(place, "aegra_api.main:app"), env, "/health")


def _langgraph_api(place: Place) -> Launch:
    env = {
        "LANGGRAPH_RUNTIME_EDITION": "pg",
        "DATABASE_URI": place.database_url,
        "REDIS_URI": place.redis_url,
        "LANGSERVE_GRAPHS": json.dumps({GRAPH_NAME: GRAPH_SPEC}),
    }
    return Launch(_uvicorn(place, "langgraph_api.server:app"), env, "/ok")


PEERS: tuple[Peer, ...] = (
    Peer("aegra-api postgres", "aegra", ("aegra-api==0.6.0", "greenlet>=3"), _aegra),
    Peer(
        "langgraph-api runtime-pg",
        "langgraph-api-pg",
        ("langgraph-runtime-pg==0.11.1.post1",),
        _langgraph_api,
        needs_redis=True,
    ),
)


def peer_database_url(postgres_url: str, peer: Peer) -> str:
    """A URL (what the peers read) of the peer's own database, on the server of `postgres_url`
    (a URL or key=value connection string)."""
    parts = conninfo_to_dict(postgres_url)
    user = quote(str(parts.get("user", "postgres")))
    password = f":{quote(str(parts['password']))}" if parts.get("password") else ""
    host, port = parts.get("host", "127.0.0.1"), parts.get("port", "5432")
    return f"postgresql://{user}{password}@{host}:{port}/{_database_name(peer)}"


def _database_name(peer: Peer) -> str:
    return "bench_peer_" + peer.slug.replace("-", "_")


def ensure_installed(peer: Peer, root: Path = PEERS_HOME) -> Path:
    """The Python of the peer's virtual environment, installed unless its stamp matches."""
    venv = root / peer.slug
    python = venv / "bin" / "python"
    stamp = venv / "installed.txt"
    wanted = stamp_text(peer)
    if python.exists() and stamp.exists() and stamp.read_text() == wanted:
        return python
    run_command([sys.executable, "-m", "venv", "--clear", str(venv)], f"creating {venv}")
    constraints = venv / "no-torch.txt"
    constraints.write_text(NO_TORCH)
    pip = [str(python), "-m", "pip", "install", "--quiet", *PIP_NETWORK]
    requirements = [*peer.requirements, *GRAPH_REQUIREMENTS]
    label = f"pip install {' '.join(peer.requirements)}"
    run_command([*pip, "-c", str(constraints), *requirements], label)
    run_command([*pip, "--no-deps", "-e", str(REPO)], "pip install -e (threadloom)")
    stamp.write_text(wanted)
    return python


def stamp_text(peer: Peer) -> str:
    """What a peer's environment holds once installed: a changed pin makes it installed anew."""
    return "\n".join([*peer.requirements, *GRAPH_REQUIREMENTS, f"-e {REPO}"]) + "\n"


def run_command(command: Sequence[str], label: str) -> None:
    """Run a set-up command; `Unavailable` with its telling line of output if it fails."""
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=INSTALL_TIMEOUT_S, check=False
        )
    except subprocess.TimeoutExpired:
        raise Unavailable(f"{label} did not finish within {INSTALL_TIMEOUT_S:g} s") from None
    if done.returncode != 0:
        raise Unavailable(f"{label} failed: {telling_line(done.stdout + done.stderr)}")


def telling_line(output: str) -> str:
    """Why pip failed, in a line: torch wanted, else its first `ERROR:` line (the later ones
    point to help pages), else the last line."""
    if f"(constraint) {NO_TORCH.strip()}" in output:
        return "it depends on torch, which a peer is never given"
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("ERROR:")]
    return (errors or lines[-1:] or ["(no output)"])[0]


async def check_redis(url: str) -> None:
    """Raise `Unavailable` unless a Redis server answers PING at `url`."""
    parts = urlsplit(url)
    try:
        connecting = asyncio.open_connection(parts.hostname or "127.0.0.1", parts.port or 6379)
        reader, writer = await asyncio.wait_for(connecting, 3)
        writer.write(b"PING\r\n")
        reply = await asyncio.wait_for(reader.readline(), 3)
        writer.close()
        await writer.wait_closed()
    except (OSError, TimeoutError) as exc:
        raise Unavailable(f"no Redis at {url} ({exc or type(exc).__name__})") from None
    if not reply.startswith(b"+PONG"):
        raise Unavailable(f"Redis at {url} answered {reply!r} to PING")


@asynccontextmanager
async def _fresh_database(postgres_url: str, peer: Peer) -> AsyncIterator[str]:
    """The peer's database, empty; dropped again afterwards."""
    url = peer_database_url(postgres_url, peer)
    name = sql.Identifier(_database_name(peer))
    async with await psycopg.AsyncConnection.connect(postgres_url, autocommit=True) as admin:
        await admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))
        await admin.execute(sql.SQL("CREATE DATABASE {}").format(name))
    try:
        yield url
    finally:
        async with await psycopg.AsyncConnection.connect(postgres_url, autocommit=True) as admin:
            await admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))


@asynccontextmanager
async def peer_server(
    peer: Peer, workdir: Path, postgres_url: str, redis_url: str, clients: int
) -> AsyncIterator[Target]:
    """`peer` serving `bench/fake_graph.py:graph` on a database of its own, as a child process."""
    python = await asyncio.to_thread(ensure_installed, peer)
    await check_postgres(postgres_url)
    if peer.needs_redis:
        await check_redis(redis_url)
    home = workdir / f"peer-{peer.slug}"
    home.mkdir()
    async with _fresh_database(postgres_url, peer) as database_url:
        place = Place(python, home, free_port(), database_url, redis_url)
        launch = peer.launch(place)
        server = child_target(
            peer.name,
            launch.command,
            child_env(**launch.env),
            home,
            UVICORN_READY,
            place.port,
            clients,
            launch.health_path,
        )
        async with server as target:
            yield target
