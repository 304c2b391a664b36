"""Thread routes: create, get, search, count, delete; state and history."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import httpx

QUESTION = {"messages": [{"role": "user", "content": "what is 6 * 7?"}]}


async def run_once(client: httpx.AsyncClient, thread_id: str) -> None:
    response = await client.post(
        f"/threads/{thread_id}/runs/wait", json={"assistant_id": "agent", "input": QUESTION}
    )
    assert response.status_code == 200, response.text


def checkpoint_rows(db: Path, thread_id: str) -> int:
    with sqlite3.connect(db) as conn:
        return conn.execute(
            "SELECT COUNT(*) FROM checkpoints WHERE thread_id = ?", (thread_id,)
        ).fetchone()[0]


async def test_create_and_get_a_thread(client: httpx.AsyncClient) -> None:
    created = await client.post("/threads", json={"metadata": {"user": "ada"}})

    thread = created.json()
    assert created.status_code == 200
    assert thread["status"] == "idle" and thread["metadata"] == {"user": "ada"}
    assert thread["values"] is None and thread["interrupts"] == {}
    fetched = await client.get(f"/threads/{thread['thread_id']}")
    assert fetched.json() == thread


async def test_create_with_a_taken_id_raises_or_returns_the_existing_thread(
    client: httpx.AsyncClient,
) -> None:
    thread_id = "0b5e8f8a-1111-4c3e-9f6e-2b1f4c7c9a10"
    first = await client.post("/threads", json={"thread_id": thread_id, "metadata": {"n": 1}})

    again = await client.post("/threads", json={"thread_id": thread_id})
    existing = await client.post(
        "/threads", json={"thread_id": thread_id, "metadata": {"n": 2}, "if_exists": "do_nothing"}
    )

    assert first.status_code == 200
    assert again.status_code == 409 and thread_id in again.json()["detail"]
    assert existing.status_code == 200 and existing.json()["metadata"] == {"n": 1}


async def test_ids_must_be_uuids(client: httpx.AsyncClient) -> None:
    created = await client.post("/threads", json={"thread_id": "not-a-uuid"})
    fetched = await client.get("/threads/not-a-uuid")

    assert created.status_code == 422 and "must be a UUID" in created.json()["detail"]
    assert fetched.status_code == 422


async def test_unknown_thread_is_404(client: httpx.AsyncClient) -> None:
    missing = "00000000-0000-0000-0000-000000000000"
    for response in (
        await client.get(f"/threads/{missing}"),
        await client.get(f"/threads/{missing}/state"),
        await client.post(f"/threads/{missing}/history", json={}),
        await client.delete(f"/threads/{missing}"),
    ):
        assert response.status_code == 404
        assert response.json() == {"detail": f"Thread with ID {missing} not found"}


async def test_search_filters_by_metadata_and_status_and_pages(client: httpx.AsyncClient) -> None:
    ids = []
    for n in range(4):
        thread = await client.post(
            "/threads", json={"metadata": {"team": "red" if n % 2 else "blue", "n": n}}
        )
        ids.append(thread.json()["thread_id"])
    await run_once(client, ids[0])

    async def search(**body: object) -> list[str]:
        response = await client.post("/threads/search", json=body)
        assert response.status_code == 200, response.text
        return [thread["thread_id"] for thread in response.json()]

    assert await search() == ids[::-1]  # newest first
    assert await search(metadata={"team": "red"}) == [ids[3], ids[1]]
    assert await search(metadata={"team": "red", "n": 1}) == [ids[1]]
    assert await search(metadata={"graph_id": "agent"}) == [ids[0]]
    assert await search(limit=2, offset=1) == [ids[2], ids[1]]
    assert await search(sort_by="created_at", sort_order="asc", limit=1) == [ids[0]]
    assert await search(ids=[ids[2], ids[3]]) == [ids[3], ids[2]]
    assert await search(values={"messages": []}) == []
    assert (await client.post("/threads/count", json={"metadata": {"team": "blue"}})).json() == 2
    assert (await client.post("/threads/search", json={"status": "bogus"})).status_code == 422


async def test_delete_removes_the_thread_its_runs_and_checkpoints(
    client: httpx.AsyncClient, db: Path
) -> None:
    thread_id = (await client.post("/threads", json={})).json()["thread_id"]
    await run_once(client, thread_id)
    assert checkpoint_rows(db, thread_id) > 0

    deleted = await client.delete(f"/threads/{thread_id}")

    assert deleted.status_code == 204
    assert (await client.get(f"/threads/{thread_id}")).status_code == 404
    assert checkpoint_rows(db, thread_id) == 0
    assert (await client.post("/threads/count", json={})).json() == 0


async def test_state_is_the_latest_checkpoint(client: httpx.AsyncClient) -> None:
    thread_id = (await client.post("/threads", json={})).json()["thread_id"]
    empty = (await client.get(f"/threads/{thread_id}/state")).json()
    await run_once(client, thread_id)

    state = (await client.get(f"/threads/{thread_id}/state")).json()

    assert empty["values"] == {} and empty["checkpoint"] is None
    assert state["values"]["messages"][-1]["content"] == "The answer is 42."
    assert state["next"] == [] and state["tasks"] == [] and state["interrupts"] == []
    assert state["checkpoint"]["thread_id"] == thread_id
    assert state["parent_checkpoint"]["checkpoint_id"] != state["checkpoint"]["checkpoint_id"]
    at = state["checkpoint"]["checkpoint_id"]
    assert (await client.get(f"/threads/{thread_id}/state/{at}")).json() == state


async def test_history_is_newest_first_and_pages_with_before(client: httpx.AsyncClient) -> None:
    thread_id = (await client.post("/threads", json={})).json()["thread_id"]
    await run_once(client, thread_id)

    history = (await client.post(f"/threads/{thread_id}/history", json={"limit": 100})).json()

    # input, agent (tool call), tools, agent (answer): one checkpoint per step, plus the input.
    steps = [state["metadata"]["step"] for state in history]
    assert steps == [3, 2, 1, 0, -1]
    assert [len(state["values"].get("messages", [])) for state in history] == [4, 3, 2, 1, 0]
    assert history[0]["next"] == [] and history[1]["next"] == ["agent"]
    latest = (await client.get(f"/threads/{thread_id}/state")).json()
    assert history[0]["checkpoint"] == latest["checkpoint"]
    page = await client.post(
        f"/threads/{thread_id}/history",
        json={"limit": 2, "before": history[1]["checkpoint"]["checkpoint_id"]},
    )
    assert [state["metadata"]["step"] for state in page.json()] == [1, 0]
    got = await client.get(f"/threads/{thread_id}/history", params={"limit": 1})
    assert [state["checkpoint"] for state in got.json()] == [latest["checkpoint"]]
    by_metadata = await client.post(
        f"/threads/{thread_id}/history", json={"metadata": {"source": "input"}}
    )
    assert [state["metadata"]["step"] for state in by_metadata.json()] == [-1]


async def test_bodies_of_thread_routes_are_optional(client: httpx.AsyncClient) -> None:
    created = await client.post("/threads")
    thread_id = created.json()["thread_id"]

    assert created.status_code == 200
    assert [t["thread_id"] for t in (await client.post("/threads/search")).json()] == [thread_id]
    assert (await client.post("/threads/count")).json() == 1
    assert (await client.post(f"/threads/{thread_id}/history")).json() == []
