"""Token flood: C clients streaming N tokens each from a model that costs nothing.

    python -m bench.token_flood                      # 16 clients x 1,000 tokens, about a minute
    python -m bench.token_flood --clients 4 --tokens 200 --no-peer

What a server spends per streamed token decides how many tokens a second one process can pass
on from a fast (GPU-backed) model. The model here is a user's own (`bench/flood_graph.py`), in a
graph served from a `langgraph.json` of its own in a scratch folder, as a user would deploy it:
it streams one-character tokens and hands the loop back after each. Each client posts one
stateless `POST /runs/stream` (stream_mode messages-tuple) and reads the whole reply; the
replies are checked afterwards (each run's chunks concatenate to its N tokens, under one message
id). Measured: aggregate tokens/s received by all clients, and the server's CPU (user + system
of its process, from `/proc`) per token received. `langgraph dev` serves the same file as the
peer, one after the other, several rounds in turns.

Goals (issue 21): server CPU per token <= 25 µs; tokens/s >= 10x `langgraph dev`'s.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from bench.child_server import ChildServer, ChildStartError, free_port
from bench.flood_graph import GRAPH_NAME, TOKEN
from bench.systems import (
    LANGGRAPH_READY,
    REPO,
    START_TIMEOUT_S,
    UVICORN_READY,
    Unavailable,
    child_env,
    child_target,
)

CPU_PER_TOKEN_GOAL_US = 25.0
PEER_RATIO_GOAL = 10.0


@dataclass(frozen=True, slots=True)
class Flood:
    """One round: tokens received by all clients, in how long, for how much server CPU."""

    tokens: int
    wall_s: float
    cpu_s: float

    @property
    def tokens_per_s(self) -> float:
        return self.tokens / self.wall_s

    @property
    def cpu_us_per_token(self) -> float:
        return self.cpu_s / self.tokens * 1e6


@dataclass(frozen=True, slots=True)
class Server:
    name: str
    port: int
    cpu_seconds: Callable[[], float]


def write_app(home: Path) -> Path:
    """The user's app: a `langgraph.json` naming the flood graph, in `home`."""
    config = home / "langgraph.json"
    graph_path = REPO / "bench" / "flood_graph.py"
    config.write_text(
        json.dumps({"dependencies": [str(REPO)], "graphs": {GRAPH_NAME: f"{graph_path}:graph"}})
    )
    return config


@asynccontextmanager
async def threadloom(home: Path, config: Path) -> AsyncIterator[Server]:
    port = free_port()
    env = child_env(THREADLOOM_DB=str(home / "threadloom.sqlite"))
    env.pop("THREADLOOM_DATABASE_URL", None)
    command = [
        sys.executable, "-m", "threadloom.service.cli.commands", "serve",
        "--host", "127.0.0.1", "--port", str(port), "--config", str(config),
    ]  # fmt: skip
    with ChildServer(command, env, cwd=home, log_path=home / "threadloom.log") as child:
        try:
            await asyncio.to_thread(child.start, UVICORN_READY, START_TIMEOUT_S)
        except ChildStartError as exc:
            raise Unavailable(f"threadloom did not start: {exc}") from None
        yield Server("threadloom", port, child.cpu_seconds)


@asynccontextmanager
async def langgraph_dev(home: Path, config: Path) -> AsyncIterator[Server]:
    port = free_port()
    command = [
        sys.executable, "-m", "langgraph_cli", "dev", "--no-browser", "--no-reload",
        "--port", str(port), "--config", str(config),
    ]  # fmt: skip
    async with child_target("langgraph dev", command, child_env(), home, LANGGRAPH_READY, port, 1):
        # child_target's Target reads the CPU of the process it started: find it by its port.
        yield Server("langgraph dev", port, _cpu_of_listener(port))


def _cpu_of_listener(port: int) -> Callable[[], float]:
    pid = _pid_listening_on(port)
    ticks = os.sysconf("SC_CLK_TCK")

    def cpu_seconds() -> float:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / ticks

    return cpu_seconds


def _pid_listening_on(port: int) -> int:
    """The process holding the loopback socket listening on `port` (Linux `/proc`)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(fields[9])
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            links = {os.readlink(fd) for fd in (entry / "fd").iterdir()}
        except OSError:
            continue
        if any(f"socket:[{inode}]" in links for inode in inodes):
            return int(entry.name)
    raise Unavailable(f"no process found listening on port {port}")


async def stream_raw(port: int, tokens: int) -> bytes:
    """One `POST /runs/stream` of `tokens` tokens; the whole response, as sent."""
    body = json.dumps(
        {
            "assistant_id": GRAPH_NAME,
            "input": {"messages": [{"role": "user", "content": str(tokens)}]},
            "stream_mode": ["messages-tuple"],
        }
    ).encode()
    head = (
        f"POST /runs/stream HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        "Connection: close\r\n\r\n"
    ).encode()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(head + body)
        return await reader.read(-1)
    finally:
        writer.close()


def check_reply(raw: bytes, tokens: int) -> int:
    """The tokens in one reply, checked: its message chunks concatenate to `tokens` tokens under
    one message id."""
    head, _, rest = raw.partition(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.1 200"):
        raise RuntimeError(f"stream refused: {raw[:300]!r}")
    body = _dechunk(rest) if b"chunked" in head.lower() else rest
    text, ids = [], set()
    for frame in body.replace(b"\r\n", b"\n").split(b"\n\n"):
        lines = frame.split(b"\n")
        if lines[0] != b"event: messages":
            continue
        data = next(line[6:] for line in lines if line.startswith(b"data: "))
        message, _metadata = json.loads(data)
        text.append(message["content"])
        ids.add(message["id"])
    content = "".join(text)
    if content != TOKEN * tokens or len(ids) != 1:
        raise RuntimeError(f"wrong reply: {len(content)} characters, message ids {ids}")
    return tokens


def _dechunk(body: bytes) -> bytes:
    parts, position = [], 0
    while True:
        end = body.index(b"\r\n", position)
        size = int(body[position:end].split(b";")[0], 16)
        if size == 0:
            return b"".join(parts)
        parts.append(body[end + 2 : end + 2 + size])
        position = end + 2 + size + 2


async def flood(server: Server, clients: int, tokens: int) -> Flood:
    cpu_before = server.cpu_seconds()
    started = time.perf_counter()
    replies = await asyncio.gather(*(stream_raw(server.port, tokens) for _ in range(clients)))
    wall_s = time.perf_counter() - started
    cpu_s = server.cpu_seconds() - cpu_before
    received = sum(check_reply(raw, tokens) for raw in replies)
    return Flood(received, wall_s, cpu_s)


async def run(clients: int, tokens: int, rounds: int, peer: bool) -> None:
    print(f"{clients} clients x {tokens} tokens, zero-cost streaming model in a user's graph")
    results: dict[str, list[Flood]] = {}
    with tempfile.TemporaryDirectory(prefix="token-flood-") as scratch:
        home = Path(scratch)
        config = write_app(home)
        async with AsyncExitStack() as stack:
            servers = [await stack.enter_async_context(threadloom(home, config))]
            if peer:
                try:
                    peer_home = home / "langgraph-dev"  # it keeps `.langgraph_api/` in its cwd
                    peer_home.mkdir()
                    dev = await stack.enter_async_context(langgraph_dev(peer_home, config))
                    servers.append(dev)
                except Unavailable as exc:
                    print(f"langgraph dev left out: {exc}")
            for server in servers:  # warm-up
                await flood(server, clients, min(tokens, 50))
            for _ in range(rounds):  # in turns, so that a busy moment hits both alike
                for server in servers:
                    results.setdefault(server.name, []).append(await flood(server, clients, tokens))
    _report(results, clients, rounds)


def _report(results: dict[str, list[Flood]], clients: int, rounds: int) -> None:
    print(f"\nmedians of {rounds} rounds")
    print(f"{'server':<16}{'tokens/s':>12}{'server CPU µs/token':>22}")
    rates, cpus = {}, {}
    for name, floods in results.items():
        rates[name] = statistics.median(f.tokens_per_s for f in floods)
        cpus[name] = statistics.median(f.cpu_us_per_token for f in floods)
        print(f"{name:<16}{rates[name]:>12,.0f}{cpus[name]:>22.1f}")
    ours = cpus["threadloom"]
    verdict = "met" if ours <= CPU_PER_TOKEN_GOAL_US else "MISSED"
    print(
        f"\nserver CPU per streamed token, {clients} streams: {ours:.1f} µs "
        f"(goal <= {CPU_PER_TOKEN_GOAL_US:.0f} µs: {verdict})"
    )
    if "langgraph dev" in rates:
        ratio = rates["threadloom"] / rates["langgraph dev"]
        verdict = "met" if ratio >= PEER_RATIO_GOAL else "MISSED"
        print(
            f"tokens/s to {clients} clients: {rates['threadloom']:,.0f}, {ratio:.1f}x "
            f"langgraph dev's {rates['langgraph dev']:,.0f} (goal >= {PEER_RATIO_GOAL:.0f}x: "
            f"{verdict})"
        )
    else:
        print(f"tokens/s >= {PEER_RATIO_GOAL:.0f}x langgraph dev's: MISSED (no peer measured)")
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    print(f"machine: {os.cpu_count()} CPUs, load average {load} (1, 5, 15 min)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=16, help="concurrent streams")
    parser.add_argument("--tokens", type=int, default=1000, help="tokens per stream")
    parser.add_argument("--rounds", type=int, default=3, help="rounds per server, in turns")
    parser.add_argument("--no-peer", action="store_true", help="leave langgraph dev out")
    args = parser.parse_args()
    asyncio.run(run(args.clients, args.tokens, args.rounds, not args.no_peer))


if __name__ == "__main__":
    main()
