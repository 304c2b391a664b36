"""Open streams: many SSE streams held open on one `threadloom serve`, and how fast `/ok` still
answers while they are open (and their heartbeats flow).

    python -m bench.open_streams                  # 10,000 streams on 10,000 threads
    python -m bench.open_streams --threads 1      # 10,000 streams on one thread
    python -m bench.open_streams --streams 4000   # a shorter run

The server runs as a child process on loopback with a remote endpoint configured (streams need
no model, and the endpoint is never called), `MAX_CONNECTIONS` above the stream count and
heartbeats every `--heartbeat-s` seconds (the server's default, 5). Each stream is one thread's
`GET /threads/{id}/stream` on a connection of its own, held until the end. The streams follow
`--threads` threads in turn: by default one thread each, the costly case, as the server's one
poller (`service.threads.watch`) then looks at every stream's thread each `POLL_INTERVAL_S`.

Once the streams are open and `SETTLE_S` has passed (the last streams' first reads, and the
garbage collections a growing heap brings, are over), the server's CPU is sampled over
`IDLE_WINDOW_S`: what the open streams cost the event loop with nothing else to do (heartbeats
and polls). Then `/ok` is timed on one kept-alive connection, paced so that the probes span
several poll intervals, as it was before the streams opened; the server's resident memory
before and after gives the memory per stream. Goal (issue 11 §5): 10,000 open streams, `/ok`
p95 ≤ 50 ms while they are.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

from bench.child_server import ChildServer, free_port
from bench.systems import REPO, START_TIMEOUT_S, child_env

READY = re.compile(r"Uvicorn running on (http://127\.0\.0\.1:\d+)")
ENDPOINT = "http://127.0.0.1:9/v1"
OK_GOAL_P95_S = 0.050
PROBES = 300
PROBE_GAP_S = 0.01  # between probes: 300 span over 3 s, so three polls of the open streams
SETTLE_S = 5.0
IDLE_WINDOW_S = 5.0
CREATE_AT_ONCE = 50  # threads created concurrently
OPEN_AT_ONCE = 200  # connections opened concurrently while building up the streams
MiB = 2**20


def raise_file_limit(needed: int) -> int:
    """Raise this process's open-file limit (the server child inherits it); the limit now."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = min(hard, max(soft, needed))
    resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    return wanted


async def open_stream(port: int, request: bytes) -> asyncio.StreamWriter:
    """A connection whose stream has started (its response headers arrived)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.1 200"):
        raise RuntimeError(f"a stream was refused: {head.splitlines()[0].decode()}")
    return writer


async def create_threads(url: str, count: int) -> list[str]:
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:

        async def create() -> str:
            response = await client.post("/threads", json={})
            response.raise_for_status()
            return response.json()["thread_id"]

        thread_ids: list[str] = []
        for start in range(0, count, CREATE_AT_ONCE):
            batch = min(CREATE_AT_ONCE, count - start)
            thread_ids += await asyncio.gather(*(create() for _ in range(batch)))
        return thread_ids


async def open_streams(
    port: int, thread_ids: list[str], count: int
) -> list[asyncio.StreamWriter]:
    """`count` streams, following `thread_ids` in turn."""
    requests = [
        (
            f"GET /threads/{thread_id}/stream HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            "Accept: text/event-stream\r\n\r\n"
        ).encode()
        for thread_id in thread_ids
    ]
    writers: list[asyncio.StreamWriter] = []
    for start in range(0, count, OPEN_AT_ONCE):
        batch = range(start, min(start + OPEN_AT_ONCE, count))
        writers += await asyncio.gather(
            *(open_stream(port, requests[i % len(requests)]) for i in batch)
        )
    return writers


def probe_ok(url: str) -> list[float]:
    """`PROBES` sequential `/ok` latencies on one kept-alive connection, in seconds."""
    latencies = []
    with httpx.Client(base_url=url, timeout=30) as client:
        client.get("/ok").raise_for_status()
        for _ in range(PROBES):
            started = time.perf_counter()
            client.get("/ok").raise_for_status()
            latencies.append(time.perf_counter() - started)
            time.sleep(PROBE_GAP_S)
    return latencies


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def report(name: str, latencies: list[float]) -> None:
    print(
        f"{name:<34}{statistics.median(latencies) * 1000:>9.1f}"
        f"{percentile(latencies, 0.95) * 1000:>9.1f}{max(latencies) * 1000:>9.1f}"
    )


async def run(streams: int, threads: int, heartbeat_s: float, workdir: Path) -> None:
    limit = raise_file_limit(2 * streams + 1000)
    port = free_port()
    command = [
        sys.executable, "-m", "threadloom.service.cli.commands", "serve",
        "--host", "127.0.0.1", "--port", str(port), "--db", str(workdir / "streams.sqlite"),
    ]
    env = child_env(
        THREADLOOM_ENDPOINT_URL=ENDPOINT,
        THREADLOOM_MAX_CONNECTIONS=str(streams + 1000),
        THREADLOOM_HEARTBEAT_S=str(heartbeat_s),
    )
    with ChildServer(command, env, cwd=REPO, log_path=workdir / "server.log") as child:
        url = child.start(READY, START_TIMEOUT_S).group(1)
        thread_ids = await create_threads(url, threads)
        idle = await asyncio.to_thread(probe_ok, url)
        rss_before = child.rss_bytes()
        started = time.perf_counter()
        writers = await open_streams(port, thread_ids, streams)
        opened_s = time.perf_counter() - started
        await asyncio.sleep(SETTLE_S)
        cpu_before = child.cpu_seconds()
        await asyncio.sleep(IDLE_WINDOW_S)
        cpu_share = (child.cpu_seconds() - cpu_before) / IDLE_WINDOW_S
        busy = await asyncio.to_thread(probe_ok, url)
        rss_after = child.rss_bytes()
        for writer in writers:
            writer.close()
    print(
        f"open-file limit {limit}; {streams} streams on {threads} threads opened in "
        f"{opened_s:.1f} s"
    )
    print(f"{'/ok latency (ms)':<34}{'p50':>9}{'p95':>9}{'max':>9}")
    report("no streams open", idle)
    report(f"{streams} streams open, {heartbeat_s:g} s heartbeats", busy)
    print(
        f"server CPU with the streams open and idle: {cpu_share:.1%} of a core "
        f"(event-loop headroom ~{1 - cpu_share:.0%})"
    )
    per_stream = (rss_after - rss_before) / streams
    print(f"server memory per open stream: {per_stream / 1024:.1f} KiB "
          f"({rss_before / MiB:.0f} -> {rss_after / MiB:.0f} MiB)")
    p95 = percentile(busy, 0.95)
    met = "met" if streams >= 10_000 and p95 <= OK_GOAL_P95_S else "MISSED"
    print(f"goal: 10,000 streams open, /ok p95 <= 50 ms: {streams} open, p95 "
          f"{p95 * 1000:.1f} ms ({met})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--streams", type=int, default=10_000)
    parser.add_argument(
        "--threads", type=int, help="distinct threads the streams follow (default: one each)"
    )
    parser.add_argument("--heartbeat-s", type=float, default=5.0)
    args = parser.parse_args()
    threads = min(args.threads or args.streams, args.streams)
    with tempfile.TemporaryDirectory(prefix="threadloom-streams-") as folder:
        asyncio.run(run(args.streams, threads, args.heartbeat_s, Path(folder)))


if __name__ == "__main__":
    main()
