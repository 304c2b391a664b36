"""Stateless runs (`/runs/stream`, `/runs/wait`, `/runs`): the headers the SDK reads, and the
thread of their own that goes when they end."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path

import httpx

from tests.fakes import FakeToolCallingModel
from tests.service.live_server import StartServer, parse_frames

QUESTION = {"messages": [{"role": "user", "content": "what is 6 * 7?"}]}


def thread_rows(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT COUNT(*) FROM threads").fetchone()[0]


def checkpoint_rows(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT COUNT(*) FROM checkpoints").fetchone()[0]


async def test_stateless_stream_names_the_run_and_leaves_nothing(
    client: httpx.AsyncClient, db: Path
) -> None:
    body = {"assistant_id": "agent", "input": QUESTION, "stream_mode": "updates"}
    async with client.stream("POST", "/runs/stream", json=body) as response:
        frames = parse_frames(await response.aread())

    run_id = frames[0].data["run_id"]
    assert response.headers["content-location"] == f"/runs/{run_id}"
    assert response.headers["location"] == f"/runs/{run_id}/stream"
    assert [frame.event for frame in frames] == ["metadata", "updates", "updates", "updates"]
    assert thread_rows(db) == 0 and checkpoint_rows(db) == 0


async def test_stateless_wait_answers_and_names_its_thread(
    client: httpx.AsyncClient, db: Path
) -> None:
    response = await client.post("/runs/wait", json={"assistant_id": "agent", "input": QUESTION})

    assert response.json()["messages"][-1]["content"] == "The answer is 42."
    run_path = response.headers["content-location"]
    assert run_path.startswith("/threads/") and response.headers["location"] == f"{run_path}/join"
    assert thread_rows(db) == 0


async def test_kept_stateless_run_leaves_its_thread(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/runs/wait", json={"assistant_id": "agent", "input": QUESTION, "on_completion": "keep"}
    )

    thread_path = response.headers["content-location"].rsplit("/runs/", 1)[0]
    thread = (await client.get(thread_path)).json()
    assert thread["status"] == "idle"
    assert thread["values"]["messages"][-1]["content"] == "The answer is 42."
    (run,) = (await client.get(f"{thread_path}/runs")).json()
    assert run["status"] == "success" and run["kwargs"]["temporary"] is False


async def test_background_stateless_run_answers_pending_then_goes(start: StartServer) -> None:
    model = FakeToolCallingModel(gate=asyncio.Event(), started=asyncio.Event())
    server = await start(model=model)
    async with httpx.AsyncClient(base_url=server.url, timeout=20) as client:
        created = await client.post("/runs", json={"assistant_id": "agent", "input": QUESTION})
        run = created.json()
        assert created.headers["content-location"] == f"/runs/{run['run_id']}"
        assert run["status"] == "pending" and run["kwargs"]["temporary"] is True
        thread_path = f"/threads/{run['thread_id']}"
        async with asyncio.timeout(20):
            await model.started.wait()
        assert (await client.get(thread_path)).json()["status"] == "busy"

        join_path = f"{thread_path}/runs/{run['run_id']}/join"
        async with client.stream("GET", join_path) as joined:  # joined: the answer has begun
            model.gate.set()
            result = json.loads(await joined.aread())

        assert result["messages"][-1]["content"] == "The answer is 42."
        assert (await client.get(thread_path)).status_code == 404


async def test_stateless_resume_and_bad_options_are_refused(
    client: httpx.AsyncClient, db: Path
) -> None:
    resume = await client.post(
        "/runs/wait", json={"assistant_id": "agent", "command": {"resume": "yes"}}
    )
    keep_what = await client.post(
        "/runs", json={"assistant_id": "agent", "input": QUESTION, "on_completion": "later"}
    )

    assert resume.status_code == 400
    assert resume.json() == {"detail": "You must provide a thread_id when resuming."}
    assert keep_what.status_code == 422
    assert thread_rows(db) == 0


async def test_a_batch_with_one_bad_run_starts_none(client: httpx.AsyncClient, db: Path) -> None:
    good = {"assistant_id": "agent", "input": QUESTION}

    refused = await client.post("/runs/batch", json=[good, {**good, "assistant_id": "nope"}])
    empty = await client.post("/runs/batch", json=[])

    assert refused.status_code == 422 and empty.status_code == 422
    assert thread_rows(db) == 0


async def test_cancel_by_status_stops_the_runs_of_every_thread(start: StartServer) -> None:
    model = FakeToolCallingModel(gate=asyncio.Event(), started=asyncio.Event())
    server = await start(model=model)
    async with httpx.AsyncClient(base_url=server.url, timeout=20) as client:
        threads = [(await client.post("/threads", json={})).json()["thread_id"] for _ in range(2)]
        runs = [
            (
                await client.post(
                    f"/threads/{t}/runs", json={"assistant_id": "agent", "input": QUESTION}
                )
            ).json()
            for t in threads
        ]

        cancelled = await client.post("/runs/cancel", json={"status": "all"})
        for run in runs:
            await client.get(f"/threads/{run['thread_id']}/runs/{run['run_id']}/join")
        again = await client.post("/runs/cancel", json={"status": "all"})
        neither = await client.post("/runs/cancel", json={"thread_id": threads[0]})

        statuses = [
            (await client.get(f"/threads/{run['thread_id']}/runs/{run['run_id']}")).json()["status"]
            for run in runs
        ]
        assert cancelled.status_code == 204 and statuses == ["interrupted", "interrupted"]
        assert again.status_code == 404 and neither.status_code == 422
