"""Message chunks coalesced per STREAM_INTERVAL_MS: clients see the same messages, in fewer
events (the real server, token by token against coalesced, side by side)."""

from __future__ import annotations

import itertools
import json
import re
from typing import Any

import httpx
from langchain_core.messages import AIMessageChunk

from tests.fakes import FakeToolCallingModel
from tests.service.live_server import Frame, StartServer, parse_frames

QUESTION = {"messages": [{"role": "user", "content": "what is 6 * 7?"}]}
CALL_ID = re.compile(r"call_\d+")
MODES = ["values", "updates", "messages-tuple"]


async def streamed(start: StartServer, interval_ms: float, modes: list[str]) -> list[Frame]:
    # One character per chunk: the answer is many chunks.
    server = await start(model=FakeToolCallingModel(chunk_chars=1), stream_interval_ms=interval_ms)
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
        body = {"assistant_id": "agent", "input": QUESTION, "stream_mode": modes}
        response = await client.post("/runs/stream", json=body)
    assert response.status_code == 200, response.text
    return parse_frames(response.content)


def messages_by_id(frames: list[Frame]) -> list[dict[str, Any]]:
    """Each message of the `messages` events, its chunks concatenated as the SDKs do (by id),
    in the order the messages began; ids (of messages and tool calls, which differ between runs)
    replaced by places."""
    merged: dict[str, AIMessageChunk] = {}
    for frame in frames:
        if frame.event == "messages":
            chunk = AIMessageChunk(**{k: v for k, v in frame.data[0].items() if k != "type"})
            merged[chunk.id] = merged[chunk.id] + chunk if chunk.id in merged else chunk  # type: ignore[index]
    dumped = json.dumps([message.model_dump(exclude={"id"}) for message in merged.values()])
    return json.loads(CALL_ID.sub("call_N", dumped))


def event_names(frames: list[Frame]) -> list[str]:
    """The events in order, a run of consecutive `messages` events counted as one."""
    return [name for name, _ in itertools.groupby(frame.event for frame in frames)]


async def test_coalesced_messages_are_the_concatenation_in_the_same_order(
    start: StartServer,
) -> None:
    by_token = await streamed(start, 0, MODES)
    coalesced = await streamed(start, 1000, MODES)

    count = sum(frame.event == "messages" for frame in by_token)
    assert sum(frame.event == "messages" for frame in coalesced) < count
    assert messages_by_id(coalesced) == messages_by_id(by_token)
    assert messages_by_id(by_token)[-1]["content"] == "The answer is 42."
    assert event_names(coalesced) == event_names(by_token)
    for frames in (by_token, coalesced):  # every chunk of one message keeps its id
        ids = [frame.data[0]["id"] for frame in frames if frame.event == "messages"]
        assert [key for key, _ in itertools.groupby(ids)] == list(dict.fromkeys(ids))


async def test_the_older_messages_framing_sends_the_latest_partial(start: StartServer) -> None:
    by_token = await streamed(start, 0, ["messages"])
    coalesced = await streamed(start, 1000, ["messages"])

    def partials(frames: list[Frame]) -> list[Frame]:
        return [frame for frame in frames if frame.event == "messages/partial"]

    assert len(partials(coalesced)) < len(partials(by_token))
    assert partials(coalesced)[-1].data[0]["content"] == "The answer is 42."
    assert partials(by_token)[-1].data[0]["content"] == "The answer is 42."
    assert event_names(coalesced) == event_names(by_token)
