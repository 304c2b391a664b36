"""Who may see what: with API keys, each key's owner sees only its own threads, runs and
assistants; another owner's answer 404 on every route, as if absent. On SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from langgraph_sdk import get_client
from langgraph_sdk.errors import AuthenticationError, NotFoundError

from tests.service.contract_graph import ContractModel, make_contract_graph
from tests.service.live_server import LiveServer, StartServer

DEADLINE_S = 20  # a bound on waiting, so a bug fails the test instead of hanging it
KEYS = "alice:key-of-alice,bob:key-of-bob"


def ask(text: str, **body: Any) -> dict[str, Any]:
    return {
        "assistant_id": "agent",
        "input": {"messages": [{"role": "user", "content": text}]},
        **body,
    }


@pytest.fixture
def contract_model() -> ContractModel:
    return ContractModel(started=asyncio.Event())


@pytest.fixture
async def server(
    storage_settings: dict[str, Any], start: StartServer, contract_model: ContractModel
) -> LiveServer:
    # (`storage_settings` first: its database must outlive the server, stopped by `start`.)
    def graph(settings: Any) -> Any:
        return make_contract_graph(settings, contract_model)

    return await start(graph_factory=graph, api_keys=KEYS, **storage_settings)


@pytest.fixture
async def alice(server: LiveServer) -> AsyncIterator[httpx.AsyncClient]:
    headers = {"Authorization": "Bearer key-of-alice"}
    async with httpx.AsyncClient(base_url=server.url, headers=headers, timeout=DEADLINE_S) as c:
        yield c


@pytest.fixture
async def bob(server: LiveServer) -> AsyncIterator[httpx.AsyncClient]:
    headers = {"x-api-key": "key-of-bob"}  # the header langgraph_sdk sends
    async with httpx.AsyncClient(base_url=server.url, headers=headers, timeout=DEADLINE_S) as c:
        yield c


async def ok(response: Any) -> Any:
    answer = await response
    assert answer.status_code == 200, answer.text
    return answer.json()


async def test_another_owners_threads_runs_and_assistants_answer_404_on_every_route(
    alice: httpx.AsyncClient, bob: httpx.AsyncClient, contract_model: ContractModel
) -> None:
    assistant_id = (await ok(alice.post("/assistants", json={"graph_id": "agent"})))["assistant_id"]
    thread_id = (await ok(alice.post("/threads", json={"metadata": {"who": "alice"}})))["thread_id"]
    await ok(alice.post(f"/threads/{thread_id}/runs/wait", json=ask("what is 6 * 7?")))
    (run,) = await ok(alice.get(f"/threads/{thread_id}/runs"))
    busy_id = (await ok(alice.post("/threads", json={})))["thread_id"]
    hanging = await ok(alice.post(f"/threads/{busy_id}/runs", json=ask("please hang")))
    async with asyncio.timeout(DEADLINE_S):
        await contract_model.started.wait()
    bobs_thread = (await ok(bob.post("/threads", json={"metadata": {"who": "bob"}})))["thread_id"]
    bobs_assistant = await ok(bob.post("/assistants", json={"graph_id": "agent", "name": "b"}))

    thread, assistant = f"/threads/{thread_id}", f"/assistants/{assistant_id}"
    finished = f"{thread}/runs/{run['run_id']}"
    running = f"/threads/{busy_id}/runs/{hanging['run_id']}"
    asks: list[tuple[str, str, Any]] = [
        ("GET", thread, None),
        ("PATCH", thread, {"metadata": {"who": "bob"}}),
        ("DELETE", thread, None),
        ("GET", f"{thread}/state", None),
        ("POST", f"{thread}/state", {"values": {"messages": []}}),
        ("POST", f"{thread}/state/checkpoint", {"checkpoint": {}}),
        ("GET", f"{thread}/history", None),
        ("POST", f"{thread}/history", {}),
        ("GET", f"{thread}/runs", None),
        ("POST", f"{thread}/runs", ask("what is 1 + 1?")),
        ("POST", f"{thread}/runs/wait", ask("what is 1 + 1?", if_not_exists="create")),
        ("POST", f"{thread}/runs/stream", ask("what is 1 + 1?")),
        ("GET", finished, None),
        ("DELETE", finished, None),
        ("GET", f"{finished}/join", None),
        ("GET", f"{finished}/stream", None),
        ("GET", f"{running}/join", None),
        ("GET", f"{running}/stream", None),
        ("POST", f"{running}/cancel", None),
        ("POST", "/runs/cancel", {"thread_id": busy_id, "run_ids": [hanging["run_id"]]}),
        ("POST", "/runs/cancel", {"status": "all"}),
        ("GET", assistant, None),
        ("PATCH", assistant, {"name": "bob's now"}),
        ("DELETE", assistant, None),
        ("POST", f"{assistant}/versions", {}),
        ("POST", f"{assistant}/latest", {"version": 1}),
        ("GET", f"{assistant}/graph", None),
        ("GET", f"{assistant}/schemas", None),
        ("POST", "/runs/wait", ask("what is 1 + 1?", assistant_id=assistant_id)),
        ("POST", f"/threads/{bobs_thread}/runs/wait", ask("1 + 1?", assistant_id=assistant_id)),
    ]
    for method, path, body in asks:
        # (A join that wrongly follows alice's hanging run would wait for it forever.)
        async with asyncio.timeout(DEADLINE_S):
            answer = await bob.request(method, path, json=body)
        assert answer.status_code == 404, (method, path, answer.status_code, answer.text)

    # Taking alice's thread id for a new thread is refused, and hands nothing over.
    taken = await bob.post("/threads", json={"thread_id": thread_id, "if_exists": "do_nothing"})
    assert taken.status_code == 409
    # Searches and counts leave alice's out, even asked for by id.
    found = await ok(bob.post("/threads/search", json={}))
    assert [t["thread_id"] for t in found] == [bobs_thread]
    assert await ok(bob.post("/threads/search", json={"ids": [thread_id, busy_id]})) == []
    assert await ok(bob.post("/threads/count", json={})) == 1
    assistants = await ok(bob.post("/assistants/search", json={}))
    assert {a["assistant_id"] for a in assistants} == {
        bobs_assistant["assistant_id"],
        (await ok(bob.get("/assistants/agent")))["assistant_id"],
    }
    assert await ok(bob.post("/assistants/count", json={})) == 2

    # Alice's things are as she left them.
    assert (await ok(alice.get(thread)))["metadata"]["who"] == "alice"
    assert [r["run_id"] for r in await ok(alice.get(f"{thread}/runs"))] == [run["run_id"]]
    assert (await ok(alice.get(assistant)))["version"] == 1
    assert (await ok(alice.get(running)))["status"] == "running"
    assert await ok(alice.post("/threads/count", json={})) == 2
    searched = await ok(alice.post("/threads/search", json={"metadata": {"who": "bob"}}))
    assert searched == []
    cancelled = await alice.post(f"{running}/cancel", params={"wait": 1})
    assert cancelled.status_code == 200, cancelled.text


async def test_the_system_assistant_is_shared_and_nobody_may_change_it(
    alice: httpx.AsyncClient, bob: httpx.AsyncClient
) -> None:
    system = await ok(alice.get("/assistants/agent"))
    path = f"/assistants/{system['assistant_id']}"
    assert await ok(bob.get(path)) == system
    for method, body in (("PATCH", {"name": "mine"}), ("DELETE", None)):
        refused = await bob.request(method, path, json=body)
        assert refused.status_code == 403, refused.text
        assert "POST /assistants" in refused.json()["detail"]
    versions = await ok(bob.post(f"{path}/versions", json={}))
    assert [v["version"] for v in versions] == [1]
    assert (await ok(alice.get("/assistants/agent"))) == system


async def test_the_sdk_client_with_a_key_sees_only_its_owners_threads(server: LiveServer) -> None:
    alice = get_client(url=server.url, api_key="key-of-alice")
    bob = get_client(url=server.url, api_key="key-of-bob")
    nobody = get_client(url=server.url, api_key=None)

    thread = await alice.threads.create(metadata={"who": "alice"})
    question = {"messages": [{"role": "user", "content": "what is 6 * 7?"}]}
    result = await alice.runs.wait(thread["thread_id"], "agent", input=question)
    assert result["messages"][-1]["content"] == "The answer is 42."

    with pytest.raises(NotFoundError):
        await bob.threads.get(thread["thread_id"])
    with pytest.raises(NotFoundError):
        await bob.threads.get_state(thread["thread_id"])
    with pytest.raises(NotFoundError):
        await bob.runs.list(thread["thread_id"])
    assert await bob.threads.search() == []
    assert [t["thread_id"] for t in await alice.threads.search()] == [thread["thread_id"]]
    with pytest.raises(AuthenticationError):
        await nobody.threads.search()
