"""Streaming runs over real HTTP: framing, headers, and every stream mode the clients use."""

from __future__ import annotations

import re

import httpx

from tests.service.live_server import Frame, parse_frames

QUESTION = {"messages": [{"role": "user", "content": "what is 6 * 7?"}]}
UUID7 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


async def new_thread(client: httpx.AsyncClient) -> str:
    response = await client.post("/threads", json={})
    assert response.status_code == 200, response.text
    return response.json()["thread_id"]


async def stream(
    client: httpx.AsyncClient, thread_id: str, **body: object
) -> tuple[httpx.Response, bytes]:
    body = {"assistant_id": "agent", "input": QUESTION, **body}
    async with client.stream("POST", f"/threads/{thread_id}/runs/stream", json=body) as response:
        raw = await response.aread()
    return response, raw


def named(frames: list[Frame], name: str) -> list[Frame]:
    return [frame for frame in frames if frame.event == name]


async def test_stream_sends_metadata_tokens_tool_steps_and_final_values(
    client: httpx.AsyncClient,
) -> None:
    thread_id = await new_thread(client)
    response, raw = await stream(
        client, thread_id, stream_mode=["values", "updates", "messages-tuple"]
    )
    frames = parse_frames(raw)

    assert response.status_code == 200
    assert frames[0].event == "metadata"
    run_id = frames[0].data["run_id"]
    assert UUID7.match(run_id)
    assert frames[0].raw == (
        b'event: metadata\r\ndata: {"run_id":"' + run_id.encode() + b'","attempt":1}'
    )
    # Token chunks of the final answer arrive as [chunk, metadata] under event `messages`
    # (consecutive ones merged per STREAM_INTERVAL_MS: test_message_coalescing).
    answer_chunks = [
        frame.data
        for frame in named(frames, "messages")
        if frame.data[0]["type"] == "AIMessageChunk" and frame.data[0]["content"]
    ]
    assert answer_chunks
    assert len({chunk["id"] for chunk, _ in answer_chunks}) == 1
    assert "".join(chunk["content"] for chunk, _ in answer_chunks) == "The answer is 42."
    assert all(meta["langgraph_node"] == "agent" for _, meta in answer_chunks)
    assert all(meta["thread_id"] == thread_id for _, meta in answer_chunks)
    # Updates repeat what each node returned: the tool call, then the tool's result.
    updates = [frame.data for frame in named(frames, "updates")]
    assert [next(iter(update)) for update in updates] == ["agent", "tools", "agent"]
    call = updates[0]["agent"]["messages"][0]["tool_calls"][0]
    assert call["name"] == "calculator" and call["args"] == {"expression": "6 * 7"}
    tool_message = updates[1]["tools"]["messages"][0]
    assert tool_message["type"] == "tool" and tool_message["content"] == "42"
    assert tool_message["tool_call_id"] == call["id"]
    final = named(frames, "values")[-1].data["messages"]
    assert [m["type"] for m in final] == ["human", "ai", "tool", "ai"]
    assert final[-1]["content"] == "The answer is 42."
    assert frames[-1].event == "values"


async def test_stream_headers_name_the_run_as_the_sdk_expects(client: httpx.AsyncClient) -> None:
    thread_id = await new_thread(client)
    response, raw = await stream(client, thread_id)
    run_id = parse_frames(raw)[0].data["run_id"]

    assert response.headers["content-type"] == "text/event-stream; charset=utf-8"
    assert response.headers["content-location"] == f"/threads/{thread_id}/runs/{run_id}"
    assert response.headers["location"] == f"/threads/{thread_id}/runs/{run_id}/stream"
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["x-accel-buffering"] == "no"
    run = (await client.get(f"/threads/{thread_id}/runs/{run_id}")).json()
    assert run["status"] == "success" and run["run_id"] == run_id


async def test_default_stream_mode_is_values_only(client: httpx.AsyncClient) -> None:
    thread_id = await new_thread(client)
    _, raw = await stream(client, thread_id)

    assert {frame.event for frame in parse_frames(raw)} == {"metadata", "values"}


async def test_messages_mode_sends_metadata_partial_and_complete(
    client: httpx.AsyncClient,
) -> None:
    thread_id = await new_thread(client)
    _, raw = await stream(client, thread_id, stream_mode="messages")
    frames = parse_frames(raw)

    assert {frame.event for frame in frames} == {
        "metadata",
        "messages/metadata",
        "messages/partial",
        "messages/complete",
    }
    # One metadata frame per message: the tool call, the tool result, the answer.
    assert len(named(frames, "messages/metadata")) == 3
    partials = [frame.data[0] for frame in named(frames, "messages/partial")]
    answer = [p["content"] for p in partials if p["content"]]
    # Each partial carries the whole message so far, as a message (type "ai"), not a chunk.
    assert answer[-1] == "The answer is 42."
    assert all(a.startswith(b) for a, b in zip(answer[1:], answer, strict=False))
    assert {p["type"] for p in partials} == {"ai"}
    (complete,) = [frame.data[0] for frame in named(frames, "messages/complete")]
    assert complete["type"] == "tool" and complete["content"] == "42"


async def test_debug_tasks_checkpoints_and_events_modes(client: httpx.AsyncClient) -> None:
    thread_id = await new_thread(client)
    _, raw = await stream(
        client, thread_id, stream_mode=["debug", "tasks", "checkpoints", "custom", "events"]
    )
    frames = parse_frames(raw)
    events = {frame.event for frame in frames}

    assert {"metadata", "debug", "tasks", "checkpoints", "events"} <= events
    assert "values" not in events and "updates" not in events
    checkpoint = named(frames, "checkpoints")[-1].data
    assert checkpoint["next"] == [] and checkpoint["values"]["messages"][-1]["content"] == (
        "The answer is 42."
    )
    debug_checkpoints = [f.data for f in named(frames, "debug") if f.data["type"] == "checkpoint"]
    assert debug_checkpoints[-1]["payload"]["checkpoint"]["thread_id"] == thread_id
    assert {f.data["name"] for f in named(frames, "tasks")} == {"agent", "tools"}
    kinds = {frame.data["event"] for frame in named(frames, "events")}
    assert {"on_chat_model_stream", "on_tool_start", "on_tool_end"} <= kinds


async def test_interrupt_before_a_node_leaves_the_thread_interrupted_until_resumed(
    client: httpx.AsyncClient,
) -> None:
    thread_id = await new_thread(client)
    _, raw = await stream(client, thread_id, interrupt_before=["tools"])
    thread = (await client.get(f"/threads/{thread_id}")).json()
    state = (await client.get(f"/threads/{thread_id}/state")).json()

    assert parse_frames(raw)[-1].data["messages"][-1]["tool_calls"]
    assert thread["status"] == "interrupted"
    assert state["next"] == ["tools"]

    _, raw = await stream(client, thread_id, input=None)
    final = parse_frames(raw)[-1].data["messages"]
    assert final[-1]["content"] == "The answer is 42."
    assert (await client.get(f"/threads/{thread_id}")).json()["status"] == "idle"
