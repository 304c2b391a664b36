"""The same flow driven by the official `langgraph_sdk` client against `threadloom serve`."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from langgraph_sdk import get_client

from tests.e2e.server_process import ServerProcess


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    process = ServerProcess(tmp_path / "threadloom.sqlite")
    process.start()
    yield process
    process.stop()


async def test_sdk_streams_a_tool_run_and_reads_the_thread_back(server: ServerProcess) -> None:
    client = get_client(url=server.url)
    thread = await client.threads.create(metadata={"user": "e2e"})
    parts = [
        part
        async for part in client.runs.stream(
            thread["thread_id"],
            "agent",
            input={"messages": [{"role": "user", "content": "compute 17*23"}]},
            stream_mode=["messages-tuple", "updates"],
        )
    ]
    events = [part.event for part in parts]
    assert events[0] == "metadata" and "messages" in events and "updates" in events
    updates = [part.data for part in parts if part.event == "updates"]
    call = updates[0]["agent"]["messages"][0]["tool_calls"][0]
    assert call["name"] == "calculator" and call["args"] == {"expression": "17*23"}
    assert updates[1]["tools"]["messages"][0]["content"] == "391"

    state = await client.threads.get_state(thread["thread_id"])
    assert "391" in state["values"]["messages"][-1]["content"]
    assert state["next"] == []
    history = await client.threads.get_history(thread["thread_id"], limit=20)
    assert len(history) >= 4 and history[0]["checkpoint"] == state["checkpoint"]

    found = await client.threads.search(metadata={"user": "e2e"})
    assert [t["thread_id"] for t in found] == [thread["thread_id"]]
    assert found[0]["status"] == "idle"

    answer = await client.runs.wait(
        thread["thread_id"],
        "agent",
        input={"messages": [{"role": "user", "content": "compute 12*7"}]},
    )
    assert "84" in answer["messages"][-1]["content"]
    assert len(answer["messages"]) == len(state["values"]["messages"]) + 4
