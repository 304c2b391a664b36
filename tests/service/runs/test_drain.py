"""SIGTERM drains a real server process: 503 for new runs, a grace period for running ones, then
they are interrupted (resumable), and the process exits 0."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
from pathlib import Path

import httpx
import pytest

from tests.service.fake_server import Gate, fake_server

pytestmark = pytest.mark.slow

ASK = {"assistant_id": "agent", "input": {"messages": [{"role": "user", "content": "6 * 7?"}]}}


def stored_status(db: Path, table: str, key: str, value: str) -> str:
    with sqlite3.connect(db) as conn:
        (status,) = conn.execute(f"SELECT status FROM {table} WHERE {key} = ?", (value,)).fetchone()
    return status


async def test_sigterm_lets_runs_finish_within_the_grace_and_interrupts_the_rest(
    tmp_path: Path, gate: Gate
) -> None:
    db = tmp_path / "threadloom.sqlite"
    server = fake_server(db, gate, env={"THREADLOOM_DRAIN_GRACE_S": "3"})
    url = await asyncio.to_thread(server.start)
    assert server.process is not None
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        finishing, stuck, refused_thread = [
            (await client.post("/threads", json={})).json()["thread_id"] for _ in range(3)
        ]
        runs, held = [], []
        for thread in (finishing, stuck):
            gate.hold_next()
            runs.append(asyncio.create_task(client.post(f"/threads/{thread}/runs/wait", json=ASK)))
            held.append(await gate.wait_held())

        os.kill(server.process.pid, signal.SIGTERM)
        await asyncio.to_thread(server.wait_for_log, "draining: no new runs")
        refused = await client.post(f"/threads/{refused_thread}/runs/wait", json=ASK)
        readable = await client.get(f"/threads/{stuck}")
        held[0].release()  # one of the two goes on and finishes; the other outlives the grace
        finished, interrupted = [(await run).json() for run in runs]

    assert await asyncio.to_thread(server.process.wait, 30) == 0
    assert refused.status_code == 503
    assert "shutting down" in refused.json()["detail"]
    assert readable.status_code == 200  # reading goes on while draining
    assert finished["messages"][-1]["content"] == "The answer is 42."
    assert [m["type"] for m in interrupted["messages"]] == ["human"]
    assert stored_status(db, "threads", "thread_id", finishing) == "idle"
    # Interrupted mid-step: the last checkpoint still has the agent step to do.
    assert stored_status(db, "threads", "thread_id", stuck) == "interrupted"
    with sqlite3.connect(db) as conn:
        statuses = dict(conn.execute("SELECT thread_id, status FROM runs").fetchall())
    assert statuses == {finishing: "success", stuck: "interrupted"}


async def test_a_queued_run_of_a_stopping_server_stays_queued_and_runs_after_the_restart(
    tmp_path: Path, gate: Gate
) -> None:
    db = tmp_path / "threadloom.sqlite"
    first = fake_server(db, gate, env={"THREADLOOM_DRAIN_GRACE_S": "0"})
    url = await asyncio.to_thread(first.start)
    assert first.process is not None
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        thread = (await client.post("/threads", json={})).json()["thread_id"]
        gate.hold_next()
        running = asyncio.create_task(client.post(f"/threads/{thread}/runs/wait", json=ASK))
        await gate.wait_held()
        queued = (await client.post(f"/threads/{thread}/runs", json=ASK)).json()["run_id"]
        os.kill(first.process.pid, signal.SIGTERM)
        await running
    assert await asyncio.to_thread(first.process.wait, 30) == 0
    kept = stored_status(db, "runs", "run_id", queued)

    second = fake_server(db, gate)  # the same file: the same replica takes its runs over
    url = await asyncio.to_thread(second.start)
    try:
        async with httpx.AsyncClient(base_url=url, timeout=30) as client:
            done = (await client.get(f"/threads/{thread}/runs/{queued}/join")).json()
    finally:
        second.stop()

    assert kept == "pending"  # accepted, not started: handed over, not interrupted
    assert stored_status(db, "runs", "run_id", queued) == "success"
    assert done["messages"][-1]["content"] == "The answer is 42."
