"""Following a thread (`GET /threads/{id}/stream`): its runs' events run after run, live or
replayed after `Last-Event-ID`, filtered by mode."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import aclosing, asynccontextmanager
from typing import Any

import httpx
import pytest
from langgraph_sdk import get_client

from tests.service.contract_graph import HANG, ContractModel, make_contract_graph
from tests.service.live_server import Frame, LiveServer, StartServer, stream_frames

DEADLINE_S = 20  # a bound on waiting, so a bug fails the test instead of hanging it
QUESTION = {"messages": [{"role": "user", "content": "what is 6 * 7?"}]}


@pytest.fixture
async def server(start: StartServer) -> LiveServer:
    # Runs created while a client follows the thread are found at the next poll.
    return await start(poll_interval_s=0.05)


async def thread_with_runs(client: httpx.AsyncClient, count: int) -> tuple[str, list[str]]:
    thread_id = (await client.post("/threads", json={})).json()["thread_id"]
    run_ids = []
    for _ in range(count):
        body = {"assistant_id": "agent", "input": QUESTION, "stream_mode": ["values", "updates"]}
        run = (await client.post(f"/threads/{thread_id}/runs", json=body)).json()
        await client.get(f"/threads/{thread_id}/runs/{run['run_id']}/join")
        run_ids.append(run["run_id"])
    return thread_id, run_ids


@asynccontextmanager
async def following(
    client: httpx.AsyncClient, thread_id: str, **request: Any
) -> AsyncIterator[AsyncIterator[Frame]]:
    """Open the thread's stream; once it is open, yields its frames as they come."""
    async with client.stream("GET", f"/threads/{thread_id}/stream", **request) as response:
        assert response.status_code == 200, await response.aread()
        assert response.headers["content-type"].startswith("text/event-stream")
        yield stream_frames(response)


async def until_done(frames: AsyncIterator[Frame], run_id: str) -> list[Frame]:
    """The frames up to and with the `run_done` of `run_id`."""
    received = []
    async with asyncio.timeout(DEADLINE_S):
        async for frame in frames:
            received.append(frame)
            if frame.data == {"status": "run_done", "run_id": run_id}:
                return received
    raise AssertionError(f"the stream ended before run {run_id} was done: {received}")


async def replayed_run(client: httpx.AsyncClient, thread_id: str, run_id: str) -> list[Frame]:
    path = f"/threads/{thread_id}/runs/{run_id}/stream"
    async with client.stream("GET", path, headers={"Last-Event-ID": "-1"}) as response:
        return [frame async for frame in stream_frames(response)]


def done(run_id: str) -> tuple[str, Any, str]:
    return "metadata", {"status": "run_done", "run_id": run_id}, f"{run_id}:done"


def summary(frames: list[Frame]) -> list[tuple[str, Any, str | None]]:
    return [(frame.event, frame.data, frame.id) for frame in frames]


async def test_a_follower_gets_each_new_run_in_turn(client: httpx.AsyncClient) -> None:
    thread_id = (await client.post("/threads", json={})).json()["thread_id"]
    async with following(client, thread_id) as frames:
        first = await client.post(
            f"/threads/{thread_id}/runs", json={"assistant_id": "agent", "input": QUESTION}
        )
        second = await client.post(
            f"/threads/{thread_id}/runs",
            json={"assistant_id": "agent", "input": QUESTION, "stream_mode": "updates"},
        )
        first_id, second_id = first.json()["run_id"], second.json()["run_id"]
        received = await until_done(frames, second_id)

    split = received.index(next(f for f in received if f.id == f"{first_id}:done")) + 1
    for run_id, part in ((first_id, received[:split]), (second_id, received[split:])):
        own = await replayed_run(client, thread_id, run_id)
        assert summary(part) == [
            *[(f.event, f.data, f"{run_id}:{f.id}") for f in own],
            done(run_id),
        ]
    assert received[0].data == {"run_id": first_id, "attempt": 1}
    assert {f.event for f in received[split:]} == {"metadata", "updates"}


async def test_a_follower_joining_mid_run_gets_that_run_from_then_on(start: StartServer) -> None:
    model = ContractModel(started=asyncio.Event())
    server = await start(graph_factory=lambda settings: make_contract_graph(settings, model))
    async with httpx.AsyncClient(base_url=server.url, timeout=DEADLINE_S) as client:
        thread_id = (await client.post("/threads", json={})).json()["thread_id"]
        body = {"assistant_id": "agent", "input": {"messages": HANG}, "stream_mode": "values"}
        hanging = (await client.post(f"/threads/{thread_id}/runs", json=body)).json()["run_id"]
        async with asyncio.timeout(DEADLINE_S):
            await model.started.wait()  # its first events are out
        async with following(client, thread_id) as frames:
            await client.post(f"/threads/{thread_id}/runs/{hanging}/cancel")
            received = await until_done(frames, hanging)

    assert summary(received)[-1] == done(hanging)
    assert all(frame.data != {"run_id": hanging, "attempt": 1} for frame in received)


async def test_last_event_id_replays_what_followed_it(client: httpx.AsyncClient) -> None:
    thread_id, (first, second) = await thread_with_runs(client, 2)

    async with following(client, thread_id, headers={"Last-Event-ID": "-"}) as frames:
        everything = await until_done(frames, second)
    resume_at = everything[2].id
    assert resume_at == f"{first}:2"
    async with following(client, thread_id, headers={"Last-Event-ID": resume_at}) as frames:
        after_third = await until_done(frames, second)
    async with following(client, thread_id, headers={"Last-Event-ID": f"{first}:done"}) as frames:
        after_first = await until_done(frames, second)

    assert summary(after_third) == summary(everything[3:])
    assert summary(after_first) == summary(everything[everything.index(after_first[0]) :])
    assert after_first[0].data == {"run_id": second, "attempt": 1}
    assert [f.id for f in everything].count(f"{first}:done") == 1


async def test_lifecycle_mode_sends_only_the_start_and_end_of_each_run(
    client: httpx.AsyncClient,
) -> None:
    thread_id, (first, second) = await thread_with_runs(client, 2)
    request = {"headers": {"Last-Event-ID": "-"}, "params": {"stream_mode": "lifecycle"}}

    async with following(client, thread_id, **request) as frames:
        received = await until_done(frames, second)

    assert summary(received) == [
        ("metadata", {"run_id": first, "attempt": 1}, f"{first}:0"),
        done(first),
        ("metadata", {"run_id": second, "attempt": 1}, f"{second}:0"),
        done(second),
    ]


async def test_the_sdk_follows_a_thread(server: LiveServer, client: httpx.AsyncClient) -> None:
    thread_id, (run_id,) = await thread_with_runs(client, 1)

    async with get_client(url=server.url) as sdk:
        stream = await sdk.threads.join_stream(thread_id, last_event_id="-")
        received = []
        async with aclosing(stream), asyncio.timeout(DEADLINE_S):
            async for part in stream:
                received.append(part)
                if part.data == {"status": "run_done", "run_id": run_id}:
                    break

    own = await replayed_run(client, thread_id, run_id)
    assert [(p.event, p.data) for p in received[:-1]] == [(f.event, f.data) for f in own]
    assert received[-1].id == f"{run_id}:done"


async def test_the_stream_ends_when_the_thread_is_deleted(client: httpx.AsyncClient) -> None:
    thread_id = (await client.post("/threads", json={})).json()["thread_id"]

    async with following(client, thread_id) as frames:
        await client.delete(f"/threads/{thread_id}")
        async with asyncio.timeout(DEADLINE_S):
            assert [frame async for frame in frames] == []


async def test_followers_of_one_thread_each_get_its_runs_and_its_end(
    client: httpx.AsyncClient,
) -> None:
    thread_id = (await client.post("/threads", json={})).json()["thread_id"]

    async with following(client, thread_id) as first, following(client, thread_id) as second:
        run = await client.post(
            f"/threads/{thread_id}/runs", json={"assistant_id": "agent", "input": QUESTION}
        )
        run_id = run.json()["run_id"]
        received = [await until_done(frames, run_id) for frames in (first, second)]
        await client.delete(f"/threads/{thread_id}")
        async with asyncio.timeout(DEADLINE_S):
            rest = [[frame async for frame in frames] for frames in (first, second)]

    assert summary(received[0]) == summary(received[1])
    assert summary(received[0])[-1] == done(run_id)
    assert rest == [[], []]


async def test_another_owners_thread_cannot_be_followed(start: StartServer) -> None:
    server = await start(api_keys="alice:key-of-alice,bob:key-of-bob")
    async with (
        httpx.AsyncClient(base_url=server.url, headers={"x-api-key": "key-of-alice"}) as alice,
        httpx.AsyncClient(base_url=server.url, headers={"x-api-key": "key-of-bob"}) as bob,
    ):
        thread_id, (run_id,) = await thread_with_runs(alice, 1)
        refused = await bob.get(f"/threads/{thread_id}/stream")
        async with following(alice, thread_id, headers={"Last-Event-ID": "-"}) as frames:
            followed = await until_done(frames, run_id)

    assert refused.status_code == 404
    assert followed[0].data == {"run_id": run_id, "attempt": 1}


@pytest.mark.parametrize(
    ("path", "request_args", "status"),
    [
        ("/threads/00000000-0000-4000-8000-000000000000/stream", {}, 404),
        ("/threads/not-a-uuid/stream", {}, 422),
        ("{thread}/stream", {"params": {"stream_mode": "values"}}, 422),
        ("{thread}/stream", {"headers": {"Last-Event-ID": "1724342400000-0"}}, 422),
    ],
    ids=["unknown-thread", "bad-thread-id", "bad-mode", "bad-last-event-id"],
)
async def test_bad_requests_are_refused(
    client: httpx.AsyncClient, path: str, request_args: dict[str, Any], status: int
) -> None:
    thread_id = (await client.post("/threads", json={})).json()["thread_id"]

    response = await client.get(path.format(thread=f"/threads/{thread_id}"), **request_args)

    assert response.status_code == status, response.text
