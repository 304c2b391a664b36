"""A graph that fails mid-run: an `error` event inside the 200, and the thread marked `error`."""

from __future__ import annotations

import httpx

from tests.service.live_server import parse_frames

BAD_INPUT = {"messages": 12345}  # not messages: LangGraph fails to coerce it (capture E)


async def test_failure_is_an_error_event_and_the_thread_records_it(
    client: httpx.AsyncClient,
) -> None:
    thread_id = (await client.post("/threads", json={})).json()["thread_id"]

    async with client.stream(
        "POST",
        f"/threads/{thread_id}/runs/stream",
        json={"assistant_id": "agent", "input": BAD_INPUT, "stream_mode": "updates"},
    ) as response:
        frames = parse_frames(await response.aread())

    assert response.status_code == 200
    assert [frame.event for frame in frames] == ["metadata", "error"]
    error = frames[1].data
    assert error["error"] == "NotImplementedError"
    assert "Unsupported message type" in error["message"]
    thread = (await client.get(f"/threads/{thread_id}")).json()
    assert thread["status"] == "error"
    assert thread["error"] == error
    run_path = response.headers["content-location"]
    assert (await client.get(run_path)).json()["status"] == "error"


async def test_wait_reports_the_failure_as_error_and_a_later_run_recovers(
    client: httpx.AsyncClient,
) -> None:
    thread_id = (await client.post("/threads", json={})).json()["thread_id"]
    path = f"/threads/{thread_id}/runs/wait"

    failed = await client.post(path, json={"assistant_id": "agent", "input": BAD_INPUT})
    recovered = await client.post(
        path,
        json={
            "assistant_id": "agent",
            "input": {"messages": [{"role": "user", "content": "what is 6 * 7?"}]},
        },
    )

    assert failed.status_code == 200
    assert failed.json()["__error__"]["error"] == "NotImplementedError"
    assert recovered.json()["messages"][-1]["content"] == "The answer is 42."
    thread = (await client.get(f"/threads/{thread_id}")).json()
    assert thread["status"] == "idle" and thread["error"] is None
