"""Changing a thread: its metadata (`PATCH`), and its state (`POST /state`), which writes a
checkpoint as if a node had returned the values; bad changes write nothing."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.fakes import FakeToolCallingModel
from tests.service.live_server import StartServer

QUESTION = {"messages": [{"role": "user", "content": "what is 6 * 7?"}]}


def checkpoint_rows(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT COUNT(*) FROM checkpoints").fetchone()[0]


async def answered_thread(client: httpx.AsyncClient, **metadata: Any) -> str:
    thread_id = (await client.post("/threads", json={"metadata": metadata})).json()["thread_id"]
    await client.post(
        f"/threads/{thread_id}/runs/wait", json={"assistant_id": "agent", "input": QUESTION}
    )
    return thread_id


async def test_patch_merges_metadata(client: httpx.AsyncClient) -> None:
    thread_id = (await client.post("/threads", json={"metadata": {"a": 1}})).json()["thread_id"]

    patched = await client.patch(f"/threads/{thread_id}", json={"metadata": {"b": 2}})
    minimal = await client.patch(
        f"/threads/{thread_id}", json={"metadata": {"c": 3}}, headers={"Prefer": "return=minimal"}
    )
    missing = await client.patch(
        "/threads/00000000-0000-0000-0000-000000000000", json={"metadata": {}}
    )
    bad = await client.patch(f"/threads/{thread_id}", json={"metadata": [1]})

    assert patched.json()["metadata"] == {"a": 1, "b": 2}
    assert minimal.status_code == 204 and minimal.content == b""
    assert (await client.get(f"/threads/{thread_id}")).json()["metadata"] == {
        "a": 1,
        "b": 2,
        "c": 3,
    }
    assert missing.status_code == 404 and bad.status_code == 422


async def test_update_state_writes_a_checkpoint_as_the_node(client: httpx.AsyncClient) -> None:
    thread_id = await answered_thread(client)

    written = await client.post(
        f"/threads/{thread_id}/state",
        json={
            "values": {"messages": [{"role": "user", "content": "what is 2 + 3?"}]},
            "as_node": "tools",
        },
    )

    assert written.status_code == 200
    checkpoint = written.json()["checkpoint"]
    assert written.json()["checkpoint_id"] == checkpoint["checkpoint_id"]
    state = (await client.get(f"/threads/{thread_id}/state")).json()
    assert state["checkpoint"] == checkpoint
    # Written as if by the tools node, the question waits for the agent.
    assert state["next"] == ["agent"] and state["metadata"]["source"] == "update"
    thread = (await client.get(f"/threads/{thread_id}")).json()
    assert thread["status"] == "interrupted"
    assert thread["values"]["messages"][-1]["content"] == "what is 2 + 3?"
    resumed = await client.post(
        f"/threads/{thread_id}/runs/wait", json={"assistant_id": "agent", "input": None}
    )
    assert resumed.json()["messages"][-1]["content"] == "The answer is 5."


@pytest.mark.parametrize(
    ("body", "status", "detail"),
    [
        ({"values": {"nope": 1}}, 422, "values: the thread's state has no 'nope'"),
        ({"values": {"messages": []}, "as_node": "nowhere"}, 400, "Node nowhere does not exist"),
        ({"values": 3}, 422, None),
    ],
)
async def test_bad_state_updates_write_nothing(
    client: httpx.AsyncClient, db: Path, body: dict[str, Any], status: int, detail: str | None
) -> None:
    thread_id = await answered_thread(client)
    before = checkpoint_rows(db)

    response = await client.post(f"/threads/{thread_id}/state", json=body)

    assert response.status_code == status
    if detail:
        assert response.json()["detail"].startswith(detail)
    assert checkpoint_rows(db) == before


async def test_a_thread_never_run_has_no_graph_to_update(client: httpx.AsyncClient) -> None:
    thread_id = (await client.post("/threads", json={})).json()["thread_id"]

    response = await client.post(f"/threads/{thread_id}/state", json={"values": {"messages": []}})

    assert response.status_code == 400 and "no assigned graph ID" in response.json()["detail"]


async def test_a_busy_thread_refuses_state_updates(start: StartServer, db: Path) -> None:
    model = FakeToolCallingModel(gate=asyncio.Event(), started=asyncio.Event())
    server = await start(model=model)
    async with httpx.AsyncClient(base_url=server.url, timeout=20) as client:
        thread_id = (await client.post("/threads", json={})).json()["thread_id"]
        # "sync": the run's checkpoints are written before it goes on, so none lands later.
        body = {"assistant_id": "agent", "input": QUESTION, "durability": "sync"}
        running = asyncio.create_task(client.post(f"/threads/{thread_id}/runs/wait", json=body))
        async with asyncio.timeout(20):
            await model.started.wait()
        before = checkpoint_rows(db)

        refused = await client.post(
            f"/threads/{thread_id}/state", json={"values": {"messages": []}}
        )

        assert refused.status_code == 409 and "in flight" in refused.json()["detail"]
        assert checkpoint_rows(db) == before
        model.gate.set()
        await running


async def test_state_at_a_checkpoint_by_post(client: httpx.AsyncClient) -> None:
    thread_id = await answered_thread(client)
    history = (await client.post(f"/threads/{thread_id}/history", json={})).json()
    earlier = history[2]

    at = await client.post(
        f"/threads/{thread_id}/state/checkpoint", json={"checkpoint": earlier["checkpoint"]}
    )
    without = await client.post(f"/threads/{thread_id}/state/checkpoint", json={})
    with_subgraphs = await client.get(f"/threads/{thread_id}/state", params={"subgraphs": True})

    assert at.json() == earlier
    assert without.status_code == 422
    assert with_subgraphs.json() == history[0]


async def test_forking_from_a_checkpoint_the_thread_lacks_is_404(
    client: httpx.AsyncClient, db: Path
) -> None:
    thread_id = await answered_thread(client)
    before = checkpoint_rows(db)

    for checkpoint_id in ("not-a-checkpoint", "1f1e5c34-4cd5-6916-8000-80826809b126"):
        response = await client.post(
            f"/threads/{thread_id}/state",
            json={"values": {"messages": []}, "checkpoint_id": checkpoint_id},
        )
        assert response.status_code == 404 and checkpoint_id in response.json()["detail"]
    assert checkpoint_rows(db) == before
