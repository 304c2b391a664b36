"""Lose a node, lose nothing: three replicas as processes on one PostgreSQL, one killed with -9
in the middle of streamed runs and with runs queued on it, every stream rejoined on a survivor;
and every database connection killed in the middle of runs.

What must hold: every accepted run reaches a final status; queued runs run once each, in their
thread's order; a rejoined stream (with the last id its client saw) is gapless, repeats nothing
and ends with the run's end; a rejoin without an id never starts at an id already sent; never
two runs active on a thread at once (read from the checkpoints each run wrote, in order).
"""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

import httpx
import psycopg
import pytest

from tests.e2e.server_process import ServerProcess
from tests.service.fake_server import Gate, fake_server
from tests.service.live_server import Frame, stream_frames

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

# A bound on each wait, so that a bug fails the test instead of hanging it; conditions are
# awaited (server-side joins, streams), never slept for.
DEADLINE_S = 120
QUESTIONS = ("1 + 1?", "2 + 2?", "3 + 3?")  # per thread: one streamed, then two queued
THREADS = 3


def ask(text: str, **extra: object) -> dict[str, object]:
    messages = [{"role": "user", "content": text}]
    return {"assistant_id": "agent", "input": {"messages": messages}, **extra}


async def start_replicas(
    servers: list[ServerProcess], gate: Gate, folder: Path, url: str, names: str, **env: str
) -> list[httpx.AsyncClient]:
    """Replicas with stable ids and a lease short enough for a test, long enough for a loaded
    machine: 4 s, renewed every 1.3 s."""
    shared = {
        "THREADLOOM_DATABASE_URL": url,
        "THREADLOOM_LEASE_TTL_S": "4",
        "THREADLOOM_POLL_INTERVAL_S": "0.2",
        **env,
    }
    for name in names:
        settings = {**shared, "THREADLOOM_REPLICA_ID": name}
        servers.append(fake_server(folder / f"{name}.sqlite", gate, settings))
    urls = await asyncio.gather(*(asyncio.to_thread(server.start) for server in servers))
    return [httpx.AsyncClient(base_url=u, timeout=DEADLINE_S) for u in urls]


class Stream:
    """A client's streamed run: the frames it got, until the run ended or the stream broke."""

    def __init__(self, client: httpx.AsyncClient, thread_id: str, body: dict[str, object]):
        self.frames: list[Frame] = []
        self.run_id = ""
        self.thread_id = thread_id
        self.mid_run = asyncio.Event()  # the run's input is streamed: its first step is under way
        self.task = asyncio.create_task(self._read(client, body))

    async def _read(self, client: httpx.AsyncClient, body: dict[str, object]) -> None:
        path = f"/threads/{self.thread_id}/runs/stream"
        try:
            async with client.stream("POST", path, json=body) as response:
                async for frame in stream_frames(response):
                    self.run_id = self.run_id or frame.data["run_id"]
                    self.frames.append(frame)
                    if frame.event == "values":
                        self.mid_run.set()
        except httpx.HTTPError:
            pass  # the replica was killed


class ThreadFollow:
    """A client following a thread (`GET /threads/{id}/stream`) from `last_id`, until the event
    with id `until` or until the stream broke."""

    def __init__(
        self, client: httpx.AsyncClient, thread_id: str, last_id: str, until: str = ""
    ) -> None:
        self.frames: list[Frame] = []
        self.task = asyncio.create_task(self._read(client, thread_id, last_id, until))

    async def _read(self, client: httpx.AsyncClient, thread_id: str, last: str, until: str) -> None:
        headers = {"Last-Event-ID": last}
        try:
            async with client.stream("GET", f"/threads/{thread_id}/stream", headers=headers) as r:
                async for frame in stream_frames(r):
                    self.frames.append(frame)
                    if frame.id == until:
                        return
        except httpx.HTTPError:
            pass  # the replica was killed


def assert_runs_gapless(frames: list[Frame], run_ids: list[str]) -> None:
    """A thread stream's ids: each run's `<run_id>:0`, `:1`, ... then `<run_id>:done`, run after
    run in order, nothing missing and nothing twice."""
    ids = [frame.id or "" for frame in frames]
    expected: list[str] = []
    for run_id in run_ids:
        count = sum(i.startswith(f"{run_id}:") and not i.endswith(":done") for i in ids)
        expected += [f"{run_id}:{n}" for n in range(count)] + [f"{run_id}:done"]
    assert ids == expected


async def rejoin(
    client: httpx.AsyncClient, thread_id: str, run_id: str, last_id: str | None
) -> list[Frame]:
    headers = {"Last-Event-ID": last_id} if last_id is not None else {}
    path = f"/threads/{thread_id}/runs/{run_id}/stream"
    async with client.stream("GET", path, headers=headers) as response:
        assert response.status_code == 200
        return [frame async for frame in stream_frames(response)]


async def run_blocks(client: httpx.AsyncClient, thread_id: str) -> list[str]:
    """The runs that wrote the thread's checkpoints, oldest first, one entry per unbroken
    stretch: a run listed twice shared the thread with another run while it was active."""
    history = (await client.get(f"/threads/{thread_id}/history", params={"limit": 1000})).json()
    blocks: list[str] = []
    for state in reversed(history):
        run_id = state["metadata"].get("run_id")
        if run_id and (not blocks or blocks[-1] != run_id):
            blocks.append(run_id)
    return blocks


def kill(server: ServerProcess) -> None:
    assert server.process is not None
    os.kill(server.process.pid, signal.SIGKILL)
    assert server.process.wait(30) == -signal.SIGKILL


@pytest.mark.parametrize("recovery", ["interrupt", "retry"])
async def test_a_replica_killed_mid_stream_loses_no_run_and_no_event(
    recovery: str, tmp_path: Path, gate: Gate, servers: list[ServerProcess], postgres_url: str
) -> None:
    clients = await start_replicas(
        servers, gate, tmp_path, postgres_url, "abc", THREADLOOM_RECOVERY=recovery
    )
    victim, survivor, other = clients
    async with asyncio.timeout(DEADLINE_S), victim, survivor, other:
        threads = [(await survivor.post("/threads", json={})).json()["thread_id"] for _ in "123"]
        followed = ThreadFollow(victim, threads[0], "-")
        gate.hold_next(THREADS)
        # Each thread's first run streams from the victim, its input checkpointed before its
        # first step; two more runs are queued behind it, accepted by the victim too.
        streams = [
            Stream(victim, t, ask(QUESTIONS[0], stream_resumable=True, durability="sync"))
            for t in threads
        ]
        for stream in streams:
            await stream.mid_run.wait()
        queued = {
            t: [
                (await victim.post(f"/threads/{t}/runs", json=ask(q))).json() for q in QUESTIONS[1:]
            ]
            for t in threads
        }
        assert {run["status"] for runs in queued.values() for run in runs} == {"pending"}
        held = [await gate.wait_held() for _ in threads]
        assert {h.pid for h in held} == {servers[0].process.pid}  # type: ignore[union-attr]

        await asyncio.to_thread(kill, servers[0])
        await asyncio.gather(followed.task, *(stream.task for stream in streams))
        last_run = queued[threads[0]][-1]["run_id"]
        last_seen = followed.frames[-1].id if followed.frames else "-"
        refollowed = ThreadFollow(other, threads[0], last_seen or "-", until=f"{last_run}:done")
        # Rejoined on a survivor: with the last id seen, and (elsewhere) with none.
        rejoined, fresh = await asyncio.gather(
            asyncio.gather(
                *(rejoin(survivor, s.thread_id, s.run_id, s.frames[-1].id) for s in streams)
            ),
            asyncio.gather(*(rejoin(other, s.thread_id, s.run_id, None) for s in streams)),
        )
        for t in threads:
            for run in queued[t]:
                await survivor.get(f"/threads/{t}/runs/{run['run_id']}/join")
        await refollowed.task
        replays = [await rejoin(survivor, s.thread_id, s.run_id, "-") for s in streams]
        statuses = {
            t: [r["status"] for r in (await other.get(f"/threads/{t}/runs")).json()[::-1]]
            for t in threads
        }
        states = {t: (await other.get(f"/threads/{t}/state")).json() for t in threads}
        blocks = {t: await run_blocks(other, t) for t in threads}

    first_status = "success" if recovery == "retry" else "interrupted"
    for t, stream, again, new, replay in zip(
        threads, streams, rejoined, fresh, replays, strict=True
    ):
        assert statuses[t] == [first_status, "success", "success"]
        seen = stream.frames + again
        # Gapless, nothing twice, and exactly the run's stored log: no id ever lied.
        assert [f.id for f in seen] == [str(n) for n in range(len(seen))]
        assert [(f.event, f.data) for f in seen] == [(f.event, f.data) for f in replay]
        assert not new or int(new[0].id or 0) >= len(stream.frames)
        if recovery == "retry":
            assert seen[-1].event == "values"
            assert seen[-1].data["messages"][-1]["content"] == "The answer is 2."
        else:
            assert (seen[-1].event, seen[-1].data["error"]) == ("error", "ServerStopped")
        # Each question once, in order; each queued run answered; one run at a time.
        messages = states[t]["values"]["messages"]
        humans = [m["content"] for m in messages if m["type"] == "human"]
        answers = [m["content"] for m in messages if m["type"] == "ai" and m["content"]]
        assert humans == list(QUESTIONS)
        assert answers[-2:] == ["The answer is 4.", "The answer is 6."]
        run_ids = [stream.run_id, *(run["run_id"] for run in queued[t])]
        assert blocks[t] == run_ids
        if t == threads[0]:  # followed as a thread, the same
            assert_runs_gapless(followed.frames + refollowed.frames, run_ids)


async def test_killed_database_connections_mid_run_settle_every_run_and_lose_no_lease(
    tmp_path: Path, gate: Gate, servers: list[ServerProcess], postgres_url: str
) -> None:
    clients = await start_replicas(servers, gate, tmp_path, postgres_url, "ab")
    async with asyncio.timeout(DEADLINE_S), clients[0], clients[1]:
        threads = [(await clients[1].post("/threads", json={})).json()["thread_id"] for _ in "12"]
        # Each run asks the model twice (a tool call, then the answer): both are held, and
        # every connection to the database is killed while they are.
        gate.hold_next(2 * len(threads))
        streams = [
            Stream(client, t, ask("6 * 7?", stream_resumable=True))
            for client, t in zip(clients, threads, strict=True)
        ]
        for _ in range(2):
            held = [await gate.wait_held() for _ in threads]
            await asyncio.to_thread(terminate_connections, postgres_url)
            for generation in held:
                generation.release()
        await asyncio.gather(*(stream.task for stream in streams))
        statuses = [
            (await clients[0].get(f"/threads/{s.thread_id}/runs/{s.run_id}")).json()["status"]
            for s in streams
        ]

    for stream, status in zip(streams, statuses, strict=True):
        assert [f.id for f in stream.frames] == [str(n) for n in range(len(stream.frames))]
        # A statement that meets its connection as it dies fails the run (with an `error`
        # event); a connection killed while idle is replaced before it is lent again.
        if status == "success":
            assert stream.frames[-1].data["messages"][-1]["content"] == "The answer is 42."
        else:
            assert (status, stream.frames[-1].event) == ("error", "error")
    for server in servers:
        assert not [line for line in server.log if "lease lost" in line], server.log[-20:]


def terminate_connections(url: str) -> None:
    """Kill every connection to the test's database but this one (the replicas' pools and
    their listeners), and wait until each is gone (a statement that meets a connection as it
    dies fails: that is not what this checks)."""
    with psycopg.connect(url, autocommit=True) as conn:
        killed = conn.execute(
            "SELECT pg_terminate_backend(pid, 10000) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchall()
    assert killed and all(ended for (ended,) in killed)
