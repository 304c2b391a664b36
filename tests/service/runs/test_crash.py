"""SIGKILL a real server process in the middle of a run: nothing committed is lost, the run is
settled (interrupted, or retried with `THREADLOOM_RECOVERY=retry`) and the thread goes on."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

import httpx
import pytest

from tests.e2e.server_process import ServerProcess
from tests.service.fake_server import Gate, fake_server
from tests.service.live_server import parse_frames

pytestmark = pytest.mark.slow


def ask(text: str | None, **extra: object) -> dict[str, object]:
    graph_input = None if text is None else {"messages": [{"role": "user", "content": text}]}
    return {"assistant_id": "agent", "input": graph_input, **extra}


async def start(servers: list[ServerProcess], server: ServerProcess) -> str:
    servers.append(server)
    return await asyncio.to_thread(server.start)


async def kill(server: ServerProcess) -> None:
    assert server.process is not None
    os.kill(server.process.pid, signal.SIGKILL)
    assert await asyncio.to_thread(server.process.wait, 30) == -signal.SIGKILL


async def only_run(client: httpx.AsyncClient, thread_id: str, status: str) -> str:
    (run,) = (await client.get(f"/threads/{thread_id}/runs", params={"status": status})).json()
    return run["run_id"]


async def test_a_run_killed_mid_step_is_interrupted_at_restart_and_the_thread_goes_on(
    tmp_path: Path, gate: Gate, servers: list[ServerProcess]
) -> None:
    db = tmp_path / "threadloom.sqlite"
    first = fake_server(db, gate)
    async with httpx.AsyncClient(base_url=await start(servers, first), timeout=30) as client:
        thread_id = (await client.post("/threads", json={})).json()["thread_id"]
        done = (await client.post(f"/threads/{thread_id}/runs/wait", json=ask("6 * 7?"))).json()
        gate.hold_next()
        # durability "sync": the run's input is checkpointed before its first step starts.
        cut_short = asyncio.create_task(
            client.post(f"/threads/{thread_id}/runs/wait", json=ask("2 + 3?", durability="sync"))
        )
        await gate.wait_held()
        run_id = await only_run(client, thread_id, "running")
        await kill(first)
        with pytest.raises(httpx.HTTPError):
            await cut_short

    second = fake_server(db, gate)  # the same file; the same (embedded) replica id
    async with httpx.AsyncClient(base_url=await start(servers, second), timeout=30) as client:
        run = (await client.get(f"/threads/{thread_id}/runs/{run_id}")).json()
        thread = (await client.get(f"/threads/{thread_id}")).json()
        state = (await client.get(f"/threads/{thread_id}/state")).json()
        async with client.stream(
            "GET", f"/threads/{thread_id}/runs/{run_id}/stream", headers={"Last-Event-ID": "0"}
        ) as replay:
            replayed = parse_frames(await replay.aread())
        resumed = await client.post(f"/threads/{thread_id}/runs/wait", json=ask(None))

    assert run["status"] == "interrupted"
    assert thread["status"] == "interrupted"
    # The last checkpoint: the first run whole, the second run's input, its step still to do.
    assert state["values"]["messages"][:4] == done["messages"]
    assert state["values"]["messages"][4]["content"] == "2 + 3?"
    assert state["next"] == ["agent"]
    # The killed run's stored events replay (those written before the kill), ended by the
    # error that says why it stopped.
    assert {frame.event for frame in replayed[:-1]} <= {"values"}
    assert replayed[-1].event == "error"
    # A new run continues the conversation from there.
    messages = resumed.json()["messages"]
    assert len(messages) == 8 and messages[-1]["content"] == "The answer is 5."


async def test_a_killed_replica_run_is_retried_by_another_once_its_lease_ran_out(
    tmp_path: Path, gate: Gate, servers: list[ServerProcess], postgres_url: str
) -> None:
    shared = {
        "THREADLOOM_DATABASE_URL": postgres_url,
        "THREADLOOM_RECOVERY": "retry",
        "THREADLOOM_LEASE_TTL_S": "2",
    }
    replicas = [
        fake_server(tmp_path / f"{name}.sqlite", gate, {**shared, "THREADLOOM_REPLICA_ID": name})
        for name in ("a", "b")
    ]
    urls = await asyncio.gather(*(start(servers, replica) for replica in replicas))
    async with (
        httpx.AsyncClient(base_url=urls[0], timeout=30) as a,
        httpx.AsyncClient(base_url=urls[1], timeout=30) as b,
    ):
        on_a, on_b = [(await b.post("/threads", json={})).json()["thread_id"] for _ in range(2)]
        gate.hold_next()
        killed = asyncio.create_task(
            a.post(f"/threads/{on_a}/runs/wait", json=ask("6 * 7?", durability="sync"))
        )
        await gate.wait_held()
        gate.hold_next()
        lives = asyncio.create_task(b.post(f"/threads/{on_b}/runs/wait", json=ask("6 * 7?")))
        held_on_b = await gate.wait_held()
        killed_run, live_run = [await only_run(b, t, "running") for t in (on_a, on_b)]

        await kill(replicas[0])
        # b takes a's run over once a's lease has run out, and runs it again under its id.
        retried = (await b.get(f"/threads/{on_a}/runs/{killed_run}/join")).json()
        live_status = (await b.get(f"/threads/{on_b}/runs/{live_run}")).json()["status"]
        held_on_b.release()
        lived = (await lives).json()
        killed_status = (await b.get(f"/threads/{on_a}/runs/{killed_run}")).json()["status"]
        with pytest.raises(httpx.HTTPError):
            await killed

    # Resumed from its checkpoint: the question once, then the tool call, result and answer.
    assert [m["type"] for m in retried["messages"]] == ["human", "ai", "tool", "ai"]
    assert retried["messages"][-1]["content"] == "The answer is 42."
    assert killed_status == "success"
    assert live_status == "running"  # b's own run, still renewed, was left alone
    assert lived["messages"][-1]["content"] == "The answer is 42."


async def test_a_replica_back_after_a_crash_settles_its_own_runs_at_once_on_postgres(
    tmp_path: Path, gate: Gate, servers: list[ServerProcess], postgres_url: str
) -> None:
    # A lease far longer than the test: only the matching replica id can settle the run.
    same_replica = {
        "THREADLOOM_DATABASE_URL": postgres_url,
        "THREADLOOM_REPLICA_ID": "pod-0",
        "THREADLOOM_LEASE_TTL_S": "600",
    }
    first = fake_server(tmp_path / "first.sqlite", gate, same_replica)
    async with httpx.AsyncClient(base_url=await start(servers, first), timeout=30) as client:
        thread_id = (await client.post("/threads", json={})).json()["thread_id"]
        gate.hold_next()
        cut_short = asyncio.create_task(
            client.post(f"/threads/{thread_id}/runs/wait", json=ask("6 * 7?", durability="sync"))
        )
        await gate.wait_held()
        run_id = await only_run(client, thread_id, "running")
        await kill(first)
        with pytest.raises(httpx.HTTPError):
            await cut_short

    back = fake_server(tmp_path / "back.sqlite", gate, same_replica)
    async with httpx.AsyncClient(base_url=await start(servers, back), timeout=30) as client:
        run = (await client.get(f"/threads/{thread_id}/runs/{run_id}")).json()
        thread = (await client.get(f"/threads/{thread_id}")).json()
        resumed = await client.post(f"/threads/{thread_id}/runs/wait", json=ask(None))

    assert run["status"] == "interrupted"
    assert thread["status"] == "interrupted"
    assert resumed.json()["messages"][-1]["content"] == "The answer is 42."
