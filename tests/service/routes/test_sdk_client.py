"""The official `langgraph_sdk` client drives the server end to end."""

from __future__ import annotations

from langgraph_sdk import get_client

from tests.service.live_server import LiveServer

QUESTION = {"messages": [{"role": "user", "content": "what is 6 * 7?"}]}


async def test_sdk_flow(server: LiveServer) -> None:
    client = get_client(url=server.url)
    thread = await client.threads.create(metadata={"user": "ada"})
    thread_id = thread["thread_id"]

    created_runs = []
    parts = [
        part
        async for part in client.runs.stream(
            thread_id,
            "agent",
            input=QUESTION,
            stream_mode=["values", "updates", "messages-tuple"],
            on_run_created=created_runs.append,
        )
    ]
    events = [part.event for part in parts]
    assert events[0] == "metadata"
    assert created_runs[0]["run_id"] == parts[0].data["run_id"]
    assert {"values", "updates", "messages"} <= set(events)
    assert parts[-1].data["messages"][-1]["content"] == "The answer is 42."

    waited = await client.runs.wait(thread_id, "agent", input={"messages": "and 2 + 3?"})
    assert waited["messages"][-1]["content"] == "The answer is 5."

    state = await client.threads.get_state(thread_id)
    assert len(state["values"]["messages"]) == 8
    history = await client.threads.get_history(thread_id, limit=3)
    assert len(history) == 3 and history[0]["checkpoint"] == state["checkpoint"]
    found = await client.threads.search(metadata={"user": "ada"})
    assert [t["thread_id"] for t in found] == [thread_id]
    assert found[0]["status"] == "idle"
    run = await client.runs.get(thread_id, created_runs[0]["run_id"])
    assert run["status"] == "success"

    await client.threads.delete(thread_id)
    assert await client.threads.search() == []
