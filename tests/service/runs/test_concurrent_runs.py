"""One active run per thread: reject, enqueue, interrupt; and what a dropped client does."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import httpx
import pytest

from tests.fakes import FakeToolCallingModel
from tests.service.live_server import LiveServer, StartServer, parse_frames

QUESTION = {"messages": [{"role": "user", "content": "what is 6 * 7?"}]}
DEADLINE_S = 20  # a bound on waiting for events, so a bug fails the test instead of hanging it


@pytest.fixture
def model() -> FakeToolCallingModel:
    """The fake model, held at the start of each generation until the test opens the gate."""
    return FakeToolCallingModel(
        gate=asyncio.Event(), started=asyncio.Event(), cancelled=asyncio.Event()
    )


@pytest.fixture
async def thread_id(client: httpx.AsyncClient) -> str:
    return (await client.post("/threads", json={})).json()["thread_id"]


async def until(event: asyncio.Event) -> None:
    async with asyncio.timeout(DEADLINE_S):
        await event.wait()


def run_rows(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT COUNT(*) FROM runs").fetchone()[0]


def body(**extra: object) -> dict[str, object]:
    return {"assistant_id": "agent", "input": QUESTION, **extra}


async def test_reject_answers_409_while_the_thread_is_busy(
    client: httpx.AsyncClient, model: FakeToolCallingModel, thread_id: str, db: Path
) -> None:
    first = asyncio.create_task(client.post(f"/threads/{thread_id}/runs/wait", json=body()))
    await until(model.started)
    assert (await client.get(f"/threads/{thread_id}")).json()["status"] == "busy"
    runs_before = run_rows(db)

    rejected = await client.post(
        f"/threads/{thread_id}/runs/stream", json=body(multitask_strategy="reject")
    )

    assert rejected.status_code == 409
    assert rejected.json() == {
        "detail": "Thread is already running a task. Wait for it to finish or choose a "
        "different multitask strategy."
    }
    assert run_rows(db) == runs_before
    model.gate.set()
    assert (await first).json()["messages"][-1]["content"] == "The answer is 42."
    assert (await client.get(f"/threads/{thread_id}")).json()["status"] == "idle"


async def test_enqueue_waits_for_the_active_run_then_runs(
    client: httpx.AsyncClient, model: FakeToolCallingModel, thread_id: str
) -> None:
    first = asyncio.create_task(client.post(f"/threads/{thread_id}/runs/wait", json=body()))
    await until(model.started)

    async with client.stream(
        "POST", f"/threads/{thread_id}/runs/stream", json=body(multitask_strategy="enqueue")
    ) as second:
        # Admitted (the response has begun) but queued behind the running run.
        runs = (await client.get(f"/threads/{thread_id}/runs")).json()
        assert [run["status"] for run in runs] == ["pending", "running"]
        model.gate.set()
        second_frames = parse_frames(await second.aread())

    first_messages = (await first).json()["messages"]
    second_messages = second_frames[-1].data["messages"]
    assert len(first_messages) == 4
    assert len(second_messages) == 8 and second_messages[:4] == first_messages


async def test_interrupt_cancels_the_active_run_and_starts_the_new_one(
    client: httpx.AsyncClient, model: FakeToolCallingModel, thread_id: str
) -> None:
    path = f"/threads/{thread_id}/runs/wait"
    first = asyncio.create_task(client.post(path, json=body()))
    await until(model.started)

    second = asyncio.create_task(client.post(path, json=body(multitask_strategy="interrupt")))
    await until(model.cancelled)
    model.gate.set()

    # As in LangGraph Server, a cancelled run is no error: its wait answers the values so far.
    assert [m["type"] for m in (await first).json()["messages"]] == ["human"]
    assert (await second).json()["messages"][-1]["content"] == "The answer is 42."
    statuses = [run["status"] for run in (await client.get(f"/threads/{thread_id}/runs")).json()]
    assert statuses == ["success", "interrupted"]


async def test_dropped_stream_with_on_disconnect_cancel_stops_generation(
    server: LiveServer, model: FakeToolCallingModel, thread_id: str
) -> None:
    async with httpx.AsyncClient(base_url=server.url, timeout=DEADLINE_S) as client:
        async with client.stream(
            "POST", f"/threads/{thread_id}/runs/stream", json=body(on_disconnect="cancel")
        ) as response:
            run_path = response.headers["content-location"]
            await until(model.started)
        # Leaving the block closes the connection mid-stream.
        await until(model.cancelled)
        await client.get(f"{run_path}/join")  # returns once the run has settled

        assert (await client.get(run_path)).json()["status"] == "interrupted"
        state = (await client.get(f"/threads/{thread_id}/state")).json()
        assert [m["type"] for m in state["values"]["messages"]] == ["human"]


async def test_dropped_stream_by_default_lets_the_run_finish(
    server: LiveServer, model: FakeToolCallingModel, thread_id: str
) -> None:
    async with httpx.AsyncClient(base_url=server.url, timeout=DEADLINE_S) as client:
        async with client.stream(
            "POST", f"/threads/{thread_id}/runs/stream", json=body()
        ) as response:
            run_path = response.headers["content-location"]
            await until(model.started)
        model.gate.set()
        result = (await client.get(f"{run_path}/join")).json()

        assert not model.cancelled.is_set()
        assert result["messages"][-1]["content"] == "The answer is 42."
        assert (await client.get(run_path)).json()["status"] == "success"
        history = (await client.post(f"/threads/{thread_id}/history", json={})).json()
        assert history[0]["values"]["messages"][-1]["content"] == "The answer is 42."


async def test_idle_stream_carries_heartbeats(
    start: StartServer, model: FakeToolCallingModel
) -> None:
    server = await start(heartbeat_s=0.05)
    async with httpx.AsyncClient(base_url=server.url, timeout=DEADLINE_S) as client:
        thread_id = (await client.post("/threads", json={})).json()["thread_id"]
        received = b""
        async with (
            client.stream("POST", f"/threads/{thread_id}/runs/stream", json=body()) as response,
            asyncio.timeout(DEADLINE_S),
        ):
            async for chunk in response.aiter_raw():
                received += chunk
                # The model is held, so the stream is idle: heartbeats must keep it alive.
                if b": heartbeat\r\n\r\n" in received:
                    model.gate.set()

    assert received.startswith(b"event: metadata\r\n")
    assert b"\r\n\r\n: heartbeat\r\n\r\n" in received
    assert parse_frames(received)[-1].data["messages"][-1]["content"] == "The answer is 42."


async def test_dropped_wait_with_on_disconnect_cancel_stops_generation(
    client: httpx.AsyncClient, model: FakeToolCallingModel, thread_id: str
) -> None:
    waiting = asyncio.create_task(
        client.post(f"/threads/{thread_id}/runs/wait", json=body(on_disconnect="cancel"))
    )
    await until(model.started)

    waiting.cancel()  # the client gives up: its connection closes
    await until(model.cancelled)

    (run,) = (await client.get(f"/threads/{thread_id}/runs")).json()
    await client.get(f"/threads/{thread_id}/runs/{run['run_id']}/join")
    assert (await client.get(f"/threads/{thread_id}/runs/{run['run_id']}")).json()[
        "status"
    ] == "interrupted"


async def test_resumable_stream_is_replayed_after_last_event_id(
    client: httpx.AsyncClient, model: FakeToolCallingModel, thread_id: str
) -> None:
    async with client.stream(
        "POST",
        f"/threads/{thread_id}/runs/stream",
        json=body(stream_resumable=True, stream_mode=["values", "updates"]),
    ) as first:
        run_path = first.headers["content-location"]
        chunks = first.aiter_raw()
        received = b""
        async with asyncio.timeout(DEADLINE_S):
            while b"id: 1\r\n\r\n" not in received:  # metadata and the input values
                received += await anext(chunks)
        async with client.stream(
            "GET", f"{run_path}/stream", headers={"Last-Event-ID": "0"}
        ) as rejoined:
            model.gate.set()
            replayed = parse_frames(await rejoined.aread())
        received += b"".join([chunk async for chunk in chunks])

    original = parse_frames(received)
    assert [frame.id for frame in original] == [str(i) for i in range(len(original))]
    assert original[-1].data["messages"][-1]["content"] == "The answer is 42."
    assert replayed == original[1:]
