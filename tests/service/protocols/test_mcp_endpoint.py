"""`/mcp`: the official `mcp` client lists the assistants as tools and calls them, against the
real server on loopback (the fake tool-calling model; tests/e2e has the bundled model)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client

from tests.service.live_server import LiveServer, StartServer
from threadloom.service.protocols.assistant_tools import MESSAGE_LIST


@asynccontextmanager
async def mcp_session(url: str, api_key: str | None = None) -> AsyncIterator[ClientSession]:
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    async with (
        httpx.AsyncClient(headers=headers, timeout=30) as http,
        streamable_http_client(f"{url}/mcp", http_client=http) as (read, write, _),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        yield session


async def test_each_assistant_is_a_tool_taking_its_graphs_input(
    server: LiveServer, client: httpx.AsyncClient
) -> None:
    created = await client.post(
        "/assistants",
        json={"graph_id": "agent", "name": "Terse agent", "description": "Answers briefly."},
    )
    async with mcp_session(server.url) as session:
        listed = await session.list_tools()
    tools = {tool.name: tool for tool in listed.tools}
    assert list(tools) == ["agent", "Terse_agent"]
    agent = tools["agent"]
    assert agent.title == "agent"
    assert agent.description == "Runs the agent assistant (graph agent)."
    assert agent.inputSchema == {
        "type": "object",
        "title": "AgentState",
        "properties": {
            "messages": {
                "anyOf": [{"type": "string"}, MESSAGE_LIST],
                "title": "Messages",
                "description": "The user message to send to the agent, or a list of messages "
                '({"role": "user", "content": "..."}, as LangGraph takes them).',
            }
        },
        "required": ["messages"],
    }
    assert agent.annotations is not None and agent.annotations.readOnlyHint is False
    assert tools["Terse_agent"].description == "Answers briefly."
    assert created.status_code == 200


@pytest.mark.parametrize(
    "messages",
    ["what is 6 * 7?", [{"role": "user", "content": "what is 6 * 7?"}]],
    ids=["text", "message list"],
)
async def test_calling_the_agent_runs_it_and_answers_its_last_message(
    each_backend: LiveServer, messages: Any
) -> None:
    async with mcp_session(each_backend.url) as session:
        result = await session.call_tool("agent", {"messages": messages})
    assert result.isError is False
    assert [block.type for block in result.content] == ["text"]
    assert "42" in result.content[0].text
    messages = result.structuredContent["messages"]
    assert [m["type"] for m in messages] == ["human", "ai", "tool", "ai"]
    assert messages[0]["content"] == "what is 6 * 7?"
    assert messages[2]["name"] == "calculator" and messages[2]["content"] == "42"
    # A stateless run: its thread is gone once it has answered.
    async with httpx.AsyncClient(base_url=each_backend.url) as client:
        assert (await client.post("/threads/search", json={})).json() == []


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        ({}, "Invalid arguments: 'messages' is a required property"),
        (
            {"messages": 5},
            "Invalid arguments at messages: 5 is not valid under any of the given schemas",
        ),
        (
            {"messages": []},
            "Invalid arguments at messages: [] should be non-empty",
        ),
    ],
)
async def test_bad_arguments_are_an_error_result_and_run_nothing(
    server: LiveServer, client: httpx.AsyncClient, arguments: dict, expected: str
) -> None:
    async with mcp_session(server.url) as session:
        result = await session.call_tool("agent", arguments)
    assert result.isError is True
    assert result.content[0].text == expected
    assert (await client.post("/threads/search", json={})).json() == []


async def test_an_unknown_tool_is_an_error_result(server: LiveServer) -> None:
    async with mcp_session(server.url) as session:
        result = await session.call_tool("weather", {"messages": "hi"})
    assert result.isError is True
    assert result.content[0].text == "Unknown tool: 'weather'. List the tools to see their names."


async def test_a_failing_run_is_an_error_result(
    server: LiveServer, client: httpx.AsyncClient
) -> None:
    await client.post(
        "/assistants",
        json={"graph_id": "agent", "name": "broken", "config": {"configurable": {"tools": ["x"]}}},
    )
    async with mcp_session(server.url) as session:
        result = await session.call_tool("broken", {"messages": "what is 6 * 7?"})
    assert result.isError is True
    assert result.content[0].text == (
        "The broken run failed: configurable.tools names unknown tools ['x']; "
        "this graph has: calculator, search."
    )


async def test_api_keys_guard_mcp_and_each_owner_sees_its_own_assistants(
    start: StartServer,
) -> None:
    server = await start(api_keys="alice:a-key,bob:b-key")
    async with httpx.AsyncClient(base_url=server.url) as http:
        refused = await http.post("/mcp", json={"jsonrpc": "2.0", "id": 1, "method": "ping"})
        assert refused.status_code == 401
        created = await http.post(
            "/assistants",
            json={"graph_id": "agent", "name": "alices"},
            headers={"x-api-key": "a-key"},
        )
        assert created.status_code == 200
    async with mcp_session(server.url, "a-key") as alice:
        assert [t.name for t in (await alice.list_tools()).tools] == ["agent", "alices"]
        answer = await alice.call_tool("alices", {"messages": "what is 6 * 7?"})
        assert "42" in answer.content[0].text
    async with mcp_session(server.url, "b-key") as bob:
        assert [t.name for t in (await bob.list_tools()).tools] == ["agent"]
        hidden = await bob.call_tool("alices", {"messages": "what is 6 * 7?"})
        assert hidden.isError is True and "Unknown tool" in hidden.content[0].text
    with pytest.raises(ExceptionGroup) as refused_session:
        async with mcp_session(server.url, "wrong-key"):
            pass
    (failure,) = refused_session.value.exceptions
    assert isinstance(failure, httpx.HTTPStatusError)
    assert failure.response.status_code == 401


async def test_mcp_is_outside_the_openapi_document(client: httpx.AsyncClient) -> None:
    paths = (await client.get("/openapi.json")).json()["paths"]
    assert "/mcp" not in paths


async def test_get_and_delete_answer_405_as_a_stateless_server_does(
    client: httpx.AsyncClient,
) -> None:
    for method in ("GET", "DELETE"):
        response = await client.request(method, "/mcp", headers={"Accept": "text/event-stream"})
        assert response.status_code == 405
