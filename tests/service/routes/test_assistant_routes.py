"""Assistant routes over HTTP, on SQLite and on PostgreSQL: what the contract leaves out (bad
input, pagination, field selection, deletion with threads, persistence across a restart)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests.service.live_server import LiveServer, StartServer

SYSTEM_ASSISTANT = "fe096781-5601-53d2-b2f6-0d3403f7e9ca"  # uuid5 of "agent", as langgraph dev
QUESTION = {"messages": [{"role": "user", "content": "what is 6 * 7?"}]}


@pytest.fixture
async def client(
    storage_settings: dict[str, Any], start: StartServer
) -> AsyncIterator[httpx.AsyncClient]:
    """A client of a server on each storage backend in turn."""
    server = await start(**storage_settings)
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
        yield http


async def count(client: httpx.AsyncClient) -> int:
    return (await client.post("/assistants/count", json={})).json()


async def create(client: httpx.AsyncClient, **body: Any) -> dict[str, Any]:
    response = await client.post("/assistants", json={"graph_id": "agent", **body})
    assert response.status_code == 200, response.text
    return response.json()


INVALID = [
    ({}, 422, "graph_id: Field required"),
    ({"graph_id": "nope"}, 404, "Graph 'nope' not found. Expected one of: ['agent']"),
    ({"graph_id": "agent", "assistant_id": "x"}, 422, "Invalid assistant ID: must be a UUID"),
    ({"graph_id": "agent", "config": {"configurable": {"a": 1}}, "context": {"a": 2}}, 400, None),
    ({"graph_id": "agent", "config": []}, 422, None),
    ({"graph_id": "agent", "if_exists": "replace"}, 422, None),
]


async def test_invalid_assistants_are_refused_and_nothing_is_stored(server: LiveServer) -> None:
    # Validation comes before storage: one backend is enough here.
    async with httpx.AsyncClient(base_url=server.url) as client:
        before = await count(client)
        for body, status, detail in INVALID:
            response = await client.post("/assistants", json=body)
            assert response.status_code == status, body
            if detail is not None:
                assert response.json() == {"detail": detail}
        assert await count(client) == before


async def test_the_system_assistant_is_there_once_across_restarts(
    start: StartServer, storage_settings: dict[str, Any], client: httpx.AsyncClient
) -> None:
    first = (await client.get(f"/assistants/{SYSTEM_ASSISTANT}")).json()
    again = await start(**storage_settings)  # a second server on the same database
    async with httpx.AsyncClient(base_url=again.url) as other:
        second = (await other.get(f"/assistants/{SYSTEM_ASSISTANT}")).json()
        assert (await other.post("/assistants/search", json={})).json() == [first]

    assert second == first and first["metadata"] == {"created_by": "system"}
    # The graph name stands for its system assistant, here as in runs.
    assert (await client.get("/assistants/agent")).json() == first


async def test_search_pages_with_headers_and_selects_fields(client: httpx.AsyncClient) -> None:
    made = [await create(client, name=f"helper {n}", metadata={"kind": "helper"}) for n in range(3)]

    first = await client.post(
        "/assistants/search", json={"metadata": {"kind": "helper"}, "limit": 2}
    )
    last = await client.post(
        "/assistants/search", json={"metadata": {"kind": "helper"}, "limit": 2, "offset": 2}
    )
    named = await client.post(
        "/assistants/search",
        json={"name": "HELPER 1", "select": ["assistant_id", "name"]},
    )
    by_name = await client.post(
        "/assistants/search",
        json={"metadata": {"kind": "helper"}, "sort_by": "name", "sort_order": "asc"},
    )

    assert [a["name"] for a in first.json()] == ["helper 2", "helper 1"]  # newest first
    assert first.headers["x-pagination-next"] == "2"
    assert [a["name"] for a in last.json()] == ["helper 0"]
    assert "x-pagination-next" not in last.headers and last.headers["x-pagination-total"] == "3"
    assert named.json() == [{"assistant_id": made[1]["assistant_id"], "name": "helper 1"}]
    assert [a["name"] for a in by_name.json()] == ["helper 0", "helper 1", "helper 2"]
    bad = await client.post("/assistants/search", json={"select": ["password"]})
    assert bad.status_code == 422


async def test_a_name_with_like_wildcards_matches_only_itself(client: httpx.AsyncClient) -> None:
    await create(client, name="100% sure")
    await create(client, name="1000 things")

    found = await client.post("/assistants/search", json={"name": "0%"})

    assert [a["name"] for a in found.json()] == ["100% sure"]


async def test_patch_makes_a_version_and_refuses_bad_changes(client: httpx.AsyncClient) -> None:
    assistant = await create(client, context={"system_prompt": "Hi."}, name="one")
    path = f"/assistants/{assistant['assistant_id']}"

    renamed = (await client.patch(path, json={"name": "two", "description": "better"})).json()
    wrong_graph = await client.patch(path, json={"graph_id": "nope"})
    missing = await client.patch(f"/assistants/{SYSTEM_ASSISTANT[:-1]}0", json={"name": "x"})
    no_such_version = await client.post(f"{path}/latest", json={"version": 9})

    assert (renamed["version"], renamed["name"], renamed["description"]) == (2, "two", "better")
    assert renamed["context"] == {"system_prompt": "Hi."}  # what the patch left out stays
    assert wrong_graph.status_code == 404
    assert missing.status_code == 404
    assert no_such_version.status_code == 404
    assert (await client.get(path)).json() == renamed


async def test_drawing_with_xray_and_bad_xray(client: httpx.AsyncClient) -> None:
    plain = await client.get("/assistants/agent/graph")
    xray = await client.get("/assistants/agent/graph", params={"xray": "true"})
    bad = await client.get("/assistants/agent/graph", params={"xray": "-1"})

    assert xray.json() == plain.json()  # the agent has no subgraphs to show
    assert all("id" not in node.get("data", {}) for node in plain.json()["nodes"])
    assert bad.status_code == 422


async def test_deleting_an_assistant_with_its_threads(client: httpx.AsyncClient) -> None:
    assistant = await create(client)
    thread_id = (await client.post("/threads", json={})).json()["thread_id"]
    other = (await client.post("/threads", json={})).json()["thread_id"]
    ran = await client.post(
        f"/threads/{thread_id}/runs/wait",
        json={"assistant_id": assistant["assistant_id"], "input": QUESTION},
    )
    assert ran.json()["messages"][-1]["content"] == "The answer is 42."

    deleted = await client.delete(
        f"/assistants/{assistant['assistant_id']}", params={"delete_threads": "true"}
    )

    assert deleted.status_code == 204
    assert (await client.get(f"/threads/{thread_id}")).status_code == 404
    assert (await client.get(f"/threads/{other}")).status_code == 200
    run = await client.post(
        f"/threads/{other}/runs/wait",
        json={"assistant_id": assistant["assistant_id"], "input": QUESTION},
    )
    assert run.status_code == 404
