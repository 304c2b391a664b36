"""Two real service processes on one PostgreSQL database act as one server: threads, joins,
streams, cancels and the one-active-run-per-thread rule work across them."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.service.fake_server import Gate, fake_server
from tests.service.live_server import parse_frames

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


def ask(text: str, **extra: object) -> dict[str, object]:
    messages = [{"role": "user", "content": text}]
    return {"assistant_id": "agent", "input": {"messages": messages}, **extra}


@pytest.fixture(scope="module")
def gate() -> Iterator[Gate]:
    gate = Gate()
    yield gate
    gate.close()


@pytest.fixture(scope="module")
def replica_urls(
    module_postgres_url: str, gate: Gate, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[list[str]]:
    """Replicas "a" and "b", started together (as a deployment would) on one database."""
    folder = tmp_path_factory.mktemp("replicas")
    servers = [
        fake_server(
            folder / f"{name}.sqlite",  # unused: the database URL wins
            gate,
            {"THREADLOOM_DATABASE_URL": module_postgres_url, "THREADLOOM_REPLICA_ID": name},
        )
        for name in ("a", "b")
    ]
    try:
        with ThreadPoolExecutor(len(servers)) as pool:
            yield list(pool.map(lambda server: server.start(), servers))
    finally:
        for server in servers:
            server.stop()


@pytest.fixture
async def clients(replica_urls: list[str], gate: Gate) -> AsyncIterator[list[httpx.AsyncClient]]:
    gate.reset()
    async with (
        httpx.AsyncClient(base_url=replica_urls[0], timeout=30) as a,
        httpx.AsyncClient(base_url=replica_urls[1], timeout=30) as b,
    ):
        yield [a, b]


async def new_thread(client: httpx.AsyncClient) -> str:
    return (await client.post("/threads", json={})).json()["thread_id"]


async def test_a_thread_started_on_one_replica_continues_on_the_other(
    clients: list[httpx.AsyncClient],
) -> None:
    a, b = clients
    thread_id = await new_thread(a)
    first = await a.post(f"/threads/{thread_id}/runs/wait", json=ask("what is 6 * 7?"))

    second = await b.post(f"/threads/{thread_id}/runs/wait", json=ask("and 2 + 3?"))

    messages = second.json()["messages"]
    assert messages[:4] == first.json()["messages"]
    assert [m["content"] for m in messages[3::4]] == ["The answer is 42.", "The answer is 5."]
    assert (await a.get(f"/threads/{thread_id}/state")).json() == (
        await b.get(f"/threads/{thread_id}/state")
    ).json()
    runs = (await a.get(f"/threads/{thread_id}/runs")).json()
    assert [run["status"] for run in runs] == ["success", "success"]


async def test_a_run_on_one_replica_is_streamed_and_joined_from_the_other(
    clients: list[httpx.AsyncClient], gate: Gate
) -> None:
    a, b = clients
    thread_id = await new_thread(a)
    gate.hold_next()
    body = ask("what is 6 * 7?", stream_mode=["values", "updates"], stream_resumable=True)
    async with a.stream("POST", f"/threads/{thread_id}/runs/stream", json=body) as original:
        run_path = original.headers["content-location"]
        held = await gate.wait_held()  # the run is in its first model call, on replica a
        joined = asyncio.create_task(b.get(f"{run_path}/join"))
        after_first = {"Last-Event-ID": "0"}
        async with b.stream("GET", f"{run_path}/stream", headers=after_first) as followed:
            held.release()
            followed_frames = parse_frames(await followed.aread())
        original_frames = parse_frames(await original.aread())

    assert followed_frames == original_frames[1:]  # everything after event 0, ids included
    assert original_frames[-1].data["messages"][-1]["content"] == "The answer is 42."
    assert (await joined).json() == original_frames[-1].data


async def test_a_run_on_one_replica_is_cancelled_from_the_other(
    clients: list[httpx.AsyncClient], gate: Gate
) -> None:
    a, b = clients
    thread_id = await new_thread(a)
    gate.hold_next()
    waiting = asyncio.create_task(a.post(f"/threads/{thread_id}/runs/wait", json=ask("6 * 7?")))
    await gate.wait_held()
    (run,) = (await b.get(f"/threads/{thread_id}/runs")).json()

    cancelled = await b.post(
        f"/threads/{thread_id}/runs/{run['run_id']}/cancel", params={"wait": "true"}
    )
    result = (await waiting).json()

    assert cancelled.status_code == 200
    assert (await a.get(f"/threads/{thread_id}/runs/{run['run_id']}")).json()["status"] == (
        "interrupted"
    )
    assert [m["type"] for m in result["messages"]] == ["human"]  # it never got an answer
    assert (await b.get(f"/threads/{thread_id}")).json()["status"] != "busy"


async def test_one_active_run_per_thread_holds_across_replicas(
    clients: list[httpx.AsyncClient], gate: Gate
) -> None:
    a, b = clients
    thread_id = await new_thread(a)
    gate.hold_next()
    first = asyncio.create_task(a.post(f"/threads/{thread_id}/runs/wait", json=ask("6 * 7?")))
    held = await gate.wait_held()

    rejected = await b.post(
        f"/threads/{thread_id}/runs/wait", json=ask("2 + 3?", multitask_strategy="reject")
    )
    enqueued = ask("2 + 3?", multitask_strategy="enqueue")
    async with b.stream("POST", f"/threads/{thread_id}/runs/stream", json=enqueued) as queued:
        statuses = [run["status"] for run in (await a.get(f"/threads/{thread_id}/runs")).json()]
        held.release()
        queued_frames = parse_frames(await queued.aread())
    first_messages = (await first).json()["messages"]

    assert rejected.status_code == 409
    assert statuses == ["pending", "running"]  # newest first: b's waits behind a's
    queued_messages = queued_frames[-1].data["messages"]
    # b's run started only after a's had ended: it saw a's whole conversation.
    assert queued_messages[:4] == first_messages
    assert queued_messages[-1]["content"] == "The answer is 5."
