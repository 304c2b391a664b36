"""Threads survive a restart: a new app on the same SQLite file has their state and history."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import httpx

from tests.service.live_server import StartServer


def ask(text: str) -> dict[str, object]:
    return {"assistant_id": "agent", "input": {"messages": [{"role": "user", "content": text}]}}


async def test_a_new_server_on_the_same_file_continues_the_thread(start: StartServer) -> None:
    first = await start()
    async with httpx.AsyncClient(base_url=first.url, timeout=30) as client:
        thread_id = (await client.post("/threads", json={"metadata": {"user": "ada"}})).json()[
            "thread_id"
        ]
        await client.post(f"/threads/{thread_id}/runs/wait", json=ask("what is 6 * 7?"))
        state_before = (await client.get(f"/threads/{thread_id}/state")).json()
        history_before = (await client.post(f"/threads/{thread_id}/history", json={})).json()
    await first.stop()

    second = await start()
    async with httpx.AsyncClient(base_url=second.url, timeout=30) as client:
        thread = (await client.get(f"/threads/{thread_id}")).json()
        state_after = (await client.get(f"/threads/{thread_id}/state")).json()
        history_after = (await client.post(f"/threads/{thread_id}/history", json={})).json()
        more = await client.post(f"/threads/{thread_id}/runs/wait", json=ask("and 2 + 3?"))

    assert thread["metadata"]["user"] == "ada" and thread["status"] == "idle"
    assert state_after == state_before
    assert history_after == history_before
    messages = more.json()["messages"]
    assert len(messages) == 8 and messages[3]["content"] == "The answer is 42."
    assert messages[-1]["content"] == "The answer is 5."


async def test_a_run_cut_off_by_a_crash_is_settled_at_start_up(
    start: StartServer, db: Path
) -> None:
    first = await start()
    async with httpx.AsyncClient(base_url=first.url, timeout=30) as client:
        thread_id = (await client.post("/threads", json={})).json()["thread_id"]
        await client.post(f"/threads/{thread_id}/runs/wait", json=ask("what is 6 * 7?"))
        (run,) = (await client.get(f"/threads/{thread_id}/runs")).json()
    await first.stop()
    # What a process killed mid-run leaves behind.
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE threads SET status = 'busy'")
        conn.execute("UPDATE runs SET status = 'running'")

    second = await start()
    async with httpx.AsyncClient(base_url=second.url, timeout=30) as client:
        thread = (await client.get(f"/threads/{thread_id}")).json()
        cut = (await client.get(f"/threads/{thread_id}/runs/{run['run_id']}")).json()

    assert thread["status"] == "idle"
    assert thread["values"]["messages"][-1]["content"] == "The answer is 42."
    assert cut["status"] == "interrupted"
