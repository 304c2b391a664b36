"""Controlling runs: cancel (interrupt or rollback) reaches the model's generation, rollback and
delete remove what a run wrote, joins filter by stream mode; on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests.service.contract_graph import ContractModel, make_contract_graph
from tests.service.live_server import StartServer, parse_frames

DEADLINE_S = 20  # a bound on waiting, so a bug fails the test instead of hanging it


def ask(text: str, **body: Any) -> dict[str, Any]:
    return {
        "assistant_id": "agent",
        "input": {"messages": [{"role": "user", "content": text}]},
        **body,
    }


@pytest.fixture
def contract_model() -> ContractModel:
    return ContractModel(started=asyncio.Event(), cancelled=asyncio.Event())


@pytest.fixture
async def client(
    storage_settings: dict[str, Any], start: StartServer, contract_model: ContractModel
) -> AsyncIterator[httpx.AsyncClient]:
    # (`storage_settings` first: its database must outlive the server, stopped by `start`.)
    def graph(settings: Any) -> Any:
        return make_contract_graph(settings, contract_model)

    server = await start(graph_factory=graph, **storage_settings)
    async with httpx.AsyncClient(base_url=server.url, timeout=DEADLINE_S) as http:
        yield http


async def until(event: asyncio.Event) -> None:
    async with asyncio.timeout(DEADLINE_S):
        await event.wait()


async def answered_thread(client: httpx.AsyncClient) -> str:
    thread_id = (await client.post("/threads", json={})).json()["thread_id"]
    done = await client.post(f"/threads/{thread_id}/runs/wait", json=ask("what is 6 * 7?"))
    assert done.json()["messages"][-1]["content"] == "The answer is 42."
    return thread_id


async def hanging_run(client: httpx.AsyncClient, model: ContractModel, thread_id: str) -> str:
    """A background run that generates until cancelled; returns once generation began."""
    model.started.clear()  # set by every generation: the next one is this run's
    # "sync": its checkpoints are all written before the model is called.
    body = ask("please hang", durability="sync")
    created = await client.post(f"/threads/{thread_id}/runs", json=body)
    assert created.status_code == 200, created.text
    await until(model.started)
    return created.json()["run_id"]


async def history_steps(client: httpx.AsyncClient, thread_id: str) -> list[int]:
    history = await client.post(f"/threads/{thread_id}/history", json={"limit": 100})
    return [state["metadata"]["step"] for state in history.json()]


async def test_cancel_stops_the_generation_and_keeps_what_the_run_wrote(
    client: httpx.AsyncClient, contract_model: ContractModel
) -> None:
    thread_id = await answered_thread(client)
    run_id = await hanging_run(client, contract_model, thread_id)
    assert (await client.get(f"/threads/{thread_id}/runs/{run_id}")).json()["status"] == "running"

    cancelled = await client.post(
        f"/threads/{thread_id}/runs/{run_id}/cancel", params={"wait": 1, "action": "interrupt"}
    )

    assert cancelled.status_code == 200 and cancelled.json() == {}
    assert contract_model.cancelled.is_set()  # the cancel reached the model's generation
    run = (await client.get(f"/threads/{thread_id}/runs/{run_id}")).json()
    thread = (await client.get(f"/threads/{thread_id}")).json()
    assert run["status"] == "interrupted"
    assert thread["status"] == "interrupted" and thread["error"] is None
    assert thread["values"]["messages"][-1]["content"] == "please hang"
    # The run's input (step 4) and the step before the model's answer (5) stay.
    assert await history_steps(client, thread_id) == [5, 4, 3, 2, 1, 0, -1]


async def test_cancel_with_rollback_removes_the_run_and_its_checkpoints(
    client: httpx.AsyncClient, contract_model: ContractModel
) -> None:
    thread_id = await answered_thread(client)
    before = await history_steps(client, thread_id)
    run_id = await hanging_run(client, contract_model, thread_id)

    cancelled = await client.post(
        f"/threads/{thread_id}/runs/{run_id}/cancel", params={"wait": 1, "action": "rollback"}
    )

    assert cancelled.status_code == 200
    assert contract_model.cancelled.is_set()
    assert (await client.get(f"/threads/{thread_id}/runs/{run_id}")).status_code == 404
    assert await history_steps(client, thread_id) == before
    thread = (await client.get(f"/threads/{thread_id}")).json()
    assert thread["status"] == "idle"
    assert thread["values"]["messages"][-1]["content"] == "The answer is 42."


async def test_cancel_without_wait_answers_202_at_once(
    client: httpx.AsyncClient, contract_model: ContractModel
) -> None:
    thread_id = await answered_thread(client)
    run_id = await hanging_run(client, contract_model, thread_id)

    accepted = await client.post(f"/threads/{thread_id}/runs/{run_id}/cancel")
    joined = await client.get(f"/threads/{thread_id}/runs/{run_id}/join")

    assert accepted.status_code == 202 and accepted.content == b""
    assert joined.json()["messages"][-1]["content"] == "please hang"
    assert contract_model.cancelled.is_set()


async def test_cancel_of_an_ended_or_unknown_run_is_404(client: httpx.AsyncClient) -> None:
    thread_id = await answered_thread(client)
    (run,) = (await client.get(f"/threads/{thread_id}/runs")).json()

    ended = await client.post(f"/threads/{thread_id}/runs/{run['run_id']}/cancel")
    bad_action = await client.post(
        f"/threads/{thread_id}/runs/{run['run_id']}/cancel", params={"action": "explode"}
    )

    assert ended.status_code == 404 and "No matching runs" in ended.json()["detail"]
    assert bad_action.status_code == 422


async def test_deleting_a_running_run_rolls_it_back(
    client: httpx.AsyncClient, contract_model: ContractModel
) -> None:
    thread_id = await answered_thread(client)
    before = await history_steps(client, thread_id)
    run_id = await hanging_run(client, contract_model, thread_id)

    deleted = await client.delete(f"/threads/{thread_id}/runs/{run_id}")

    assert deleted.status_code == 204
    assert contract_model.cancelled.is_set()
    assert await history_steps(client, thread_id) == before
    assert [r["status"] for r in (await client.get(f"/threads/{thread_id}/runs")).json()] == [
        "success"
    ]
    assert (await client.get(f"/threads/{thread_id}")).json()["status"] == "idle"


async def test_rollback_strategy_starts_the_new_run_from_the_state_before_the_old_one(
    client: httpx.AsyncClient, contract_model: ContractModel
) -> None:
    thread_id = await answered_thread(client)
    old_run = await hanging_run(client, contract_model, thread_id)

    new = await client.post(
        f"/threads/{thread_id}/runs/wait", json=ask("what is 2 + 3?", multitask_strategy="rollback")
    )

    contents = [m["content"] for m in new.json()["messages"]]
    assert contents[-1] == "The answer is 5." and "please hang" not in contents
    assert (await client.get(f"/threads/{thread_id}/runs/{old_run}")).status_code == 404
    assert await history_steps(client, thread_id) == [8, 7, 6, 5, 4, 3, 2, 1, 0, -1]


async def test_joining_a_stream_keeps_the_modes_asked_for(client: httpx.AsyncClient) -> None:
    thread_id = (await client.post("/threads", json={})).json()["thread_id"]
    body = ask("what is 6 * 7?", stream_mode=["values", "updates", "messages-tuple"])
    async with client.stream(
        "POST", f"/threads/{thread_id}/runs/stream", json={**body, "stream_resumable": True}
    ) as response:
        run_path = response.headers["content-location"]
        everything = parse_frames(await response.aread())

    async def join(**params: str) -> list[str]:
        async with client.stream(
            "GET", f"{run_path}/stream", params=params, headers={"Last-Event-ID": "0"}
        ) as joined:
            return [frame.event for frame in parse_frames(await joined.aread())]

    assert await join() == [frame.event for frame in everything[1:]]
    assert set(await join(stream_mode="updates")) == {"updates"}
    assert set(await join(stream_mode='["values","messages-tuple"]')) == {"values", "messages"}
