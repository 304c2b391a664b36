"""A graph with a subgraph: with `stream_subgraphs` its events arrive as `mode|namespace`; custom
events written with `get_stream_writer` arrive under `custom`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from langgraph.config import get_stream_writer
from langgraph.graph import END, START, MessagesState, StateGraph

from tests.service.live_server import StartServer, parse_frames
from threadloom.service.settings import Settings

HI = {"messages": [{"role": "user", "content": "hi"}]}


def nested_graph(settings: Settings) -> StateGraph:
    """`outer` runs the subgraph `inner`, whose one node writes a custom event and replies."""

    def reply(state: MessagesState) -> dict[str, Any]:
        get_stream_writer()({"progress": "replying"})
        return {"messages": [{"role": "ai", "content": "hello from inside"}]}

    inner = StateGraph(MessagesState)
    inner.add_node("reply", reply)
    inner.add_edge(START, "reply")
    inner.add_edge("reply", END)
    outer = StateGraph(MessagesState)
    outer.add_node("inner", inner.compile())
    outer.add_edge(START, "inner")
    outer.add_edge("inner", END)
    return outer


@pytest.fixture
async def client(start: StartServer) -> AsyncIterator[httpx.AsyncClient]:
    server = await start(graph_factory=nested_graph)
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
        yield http


async def stream(client: httpx.AsyncClient, **body: Any) -> tuple[str, list[Any]]:
    thread_id = (await client.post("/threads", json={})).json()["thread_id"]
    body = {"assistant_id": "agent", "input": HI, **body}
    async with client.stream("POST", f"/threads/{thread_id}/runs/stream", json=body) as response:
        return response.headers["content-location"], parse_frames(await response.aread())


async def test_subgraph_events_are_named_with_their_namespace(client: httpx.AsyncClient) -> None:
    _, frames = await stream(client, stream_mode=["updates", "custom"], stream_subgraphs=True)

    names = [frame.event for frame in frames]
    inner_updates = [f for f in frames if f.event.startswith("updates|inner:")]
    assert names[0] == "metadata"
    assert [f.data for f in inner_updates] == [
        {"reply": {"messages": [{"role": "ai", "content": "hello from inside"}]}}
    ]
    (custom,) = [f for f in frames if f.event.startswith("custom|inner:")]
    assert custom.data == {"progress": "replying"}
    assert custom.event.split("|")[1] == inner_updates[0].event.split("|")[1]
    outer_update = next(f.data for f in frames if f.event == "updates")
    assert list(outer_update) == ["inner"]


async def test_without_stream_subgraphs_only_the_root_graph_streams(
    client: httpx.AsyncClient,
) -> None:
    _, frames = await stream(client, stream_mode=["updates", "custom"])

    # The subgraph's custom event stays inside it, as in LangGraph.
    assert [frame.event for frame in frames] == ["metadata", "updates"]


async def test_joining_by_mode_includes_the_subgraph_events(client: httpx.AsyncClient) -> None:
    run_path, frames = await stream(
        client, stream_mode=["updates", "values"], stream_subgraphs=True, stream_resumable=True
    )

    async with client.stream(
        "GET",
        f"{run_path}/stream",
        params={"stream_mode": "updates"},
        headers={"Last-Event-ID": "0"},
    ) as joined:
        replayed = parse_frames(await joined.aread())

    assert [f.event for f in replayed] == [f.event for f in frames if f.event.startswith("updates")]
    assert any("|" in f.event for f in replayed)
