"""Human-in-the-loop over HTTP: `interrupt()` in a node, then `command: {"resume": ...}`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from langgraph.graph import END, START, MessagesState, StateGraph
from langgraph.types import interrupt

from tests.service.live_server import StartServer, parse_frames
from threadloom.service.settings import Settings

HI = {"messages": [{"role": "user", "content": "hi"}]}


def approval_graph(settings: Settings) -> StateGraph:
    """One node that asks a human before answering (the graph of the resume capture)."""

    def ask(state: MessagesState) -> dict[str, Any]:
        answer = interrupt({"question": "approve?", "n_messages": len(state["messages"])})
        return {"messages": [{"role": "ai", "content": f"human said: {answer}"}]}

    graph = StateGraph(MessagesState)
    graph.add_node("ask", ask)
    graph.add_edge(START, "ask")
    graph.add_edge("ask", END)
    return graph


@pytest.fixture
async def hitl(start: StartServer) -> AsyncIterator[httpx.AsyncClient]:
    server = await start(graph_factory=approval_graph)
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
        yield http


async def run_stream(client: httpx.AsyncClient, thread_id: str, **body: Any) -> list[Any]:
    body = {"assistant_id": "agent", **body}
    async with client.stream("POST", f"/threads/{thread_id}/runs/stream", json=body) as response:
        return [(f.event, f.data) for f in parse_frames(await response.aread())]


async def test_interrupt_then_resume_as_the_server_capture_shows(hitl: httpx.AsyncClient) -> None:
    thread_id = (await hitl.post("/threads", json={})).json()["thread_id"]

    first = await run_stream(hitl, thread_id, input=HI, stream_mode=["values", "updates"])
    assert [event for event, _ in first] == ["metadata", "values", "updates", "values"]
    (pending,) = first[2][1]["__interrupt__"]
    assert pending["value"] == {"question": "approve?", "n_messages": 1}
    assert pending["response_schema"] is None
    assert first[3][1]["__interrupt__"] == [pending]
    thread = (await hitl.get(f"/threads/{thread_id}")).json()
    assert thread["status"] == "interrupted"
    assert list(thread["interrupts"].values()) == [
        [{"id": pending["id"], "value": pending["value"]}]
    ]
    state = (await hitl.get(f"/threads/{thread_id}/state")).json()
    assert state["next"] == ["ask"]
    assert state["interrupts"] == [{"id": pending["id"], "value": pending["value"]}]

    second = await run_stream(
        hitl, thread_id, command={"resume": "yes"}, stream_mode=["values", "updates"]
    )
    assert [event for event, _ in second] == ["metadata", "values", "updates", "values"]
    assert second[2][1] == {"ask": {"messages": [{"role": "ai", "content": "human said: yes"}]}}
    assert second[3][1]["messages"][-1]["content"] == "human said: yes"
    assert (await hitl.get(f"/threads/{thread_id}")).json()["status"] == "idle"


async def test_an_interrupt_is_sent_only_in_the_modes_asked_for(
    hitl: httpx.AsyncClient,
) -> None:
    thread_id = (await hitl.post("/threads", json={})).json()["thread_id"]

    # As LangGraph Server (reference/resume_capture.txt): no `updates` unless asked for.
    events = await run_stream(hitl, thread_id, input=HI, stream_mode="messages-tuple")
    assert [event for event, _ in events] == ["metadata"]
    second = (await hitl.post("/threads", json={})).json()["thread_id"]
    events = await run_stream(hitl, second, input=HI, stream_mode="values")
    assert [event for event, _ in events] == ["metadata", "values", "values"]
    assert events[-1][1]["__interrupt__"][0]["value"]["question"] == "approve?"


async def test_wait_on_an_interrupt_returns_values_with_the_interrupt(
    hitl: httpx.AsyncClient,
) -> None:
    thread_id = (await hitl.post("/threads", json={})).json()["thread_id"]

    body = {"assistant_id": "agent", "input": HI}
    result = (await hitl.post(f"/threads/{thread_id}/runs/wait", json=body)).json()

    assert result["messages"][0]["content"] == "hi"
    assert result["__interrupt__"][0]["value"] == {"question": "approve?", "n_messages": 1}
