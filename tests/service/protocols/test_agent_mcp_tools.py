"""The agent calls the tools of real MCP servers (stdio and Streamable HTTP, both started by
the test) through the real server; an assistant's `tools` selects among them; a server that
dies during a call leaves an error tool message and the run ends."""

from __future__ import annotations

import json
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from langchain_core.messages import AIMessage

from tests.fakes import ScriptedChatModel
from tests.service.live_server import StartServer
from tests.tools.mcp_http_server import TOKEN, serving_math_over_http

# Each stdio server is a Python process started per session: several per test.
pytestmark = pytest.mark.slow

MATH_SERVER = str(Path(__file__).parents[3] / "tests" / "tools" / "mcp_math_server.py")


@pytest.fixture
async def servers_file(tmp_path: Path) -> AsyncIterator[Path]:
    """`math` over stdio and `web` over HTTP."""
    async with serving_math_over_http() as url:
        path = tmp_path / "mcp.json"
        servers = {
            "math": {"command": sys.executable, "args": [MATH_SERVER]},
            "web": {"url": url, "headers": {"Authorization": f"Bearer {TOKEN}"}},
        }
        path.write_text(json.dumps({"mcpServers": servers}))
        yield path


def calls(*tool_calls: tuple[str, dict[str, Any]]) -> AIMessage:
    return AIMessage(
        "", tool_calls=[{"name": n, "args": a, "id": f"call-{n}"} for n, a in tool_calls]
    )


async def wait_run(http: httpx.AsyncClient, assistant_id: str) -> dict[str, Any]:
    response = await http.post(
        "/runs/wait",
        json={"assistant_id": assistant_id, "input": {"messages": [("user", "add things")]}},
    )
    assert response.status_code == 200, response.text
    return response.json()


async def test_the_agent_calls_stdio_and_http_mcp_tools(
    start: StartServer, servers_file: Path
) -> None:
    model = ScriptedChatModel(
        replies=[
            calls(("math_add", {"a": 2, "b": 3}), ("web_add", {"a": 40, "b": 2})),
            AIMessage("5, 42"),
        ]
    )
    server = await start(model=model, mcp_servers_file=servers_file)
    async with httpx.AsyncClient(base_url=server.url, timeout=60) as http:
        result = await wait_run(http, "agent")
    tool_messages = [m for m in result["messages"] if m["type"] == "tool"]
    assert [(m["name"], m["content"], m["status"]) for m in tool_messages] == [
        ("math_add", "5", "success"),
        ("web_add", "42", "success"),
    ]
    assert result["messages"][-1]["content"] == "5, 42"


async def test_an_assistant_offers_only_the_mcp_tools_it_names(
    start: StartServer, servers_file: Path
) -> None:
    model = ScriptedChatModel(
        replies=[
            calls(("math_add", {"a": 1, "b": 1}), ("web_add", {"a": 1, "b": 1})),
            AIMessage(""),
        ]
    )
    server = await start(model=model, mcp_servers_file=servers_file)
    async with httpx.AsyncClient(base_url=server.url, timeout=60) as http:
        assistant = await http.post(
            "/assistants",
            json={"graph_id": "agent", "config": {"configurable": {"tools": ["math_add"]}}},
        )
        result = await wait_run(http, assistant.json()["assistant_id"])
    added, refused = (m for m in result["messages"] if m["type"] == "tool")
    assert added["content"] == "2"
    assert refused["status"] == "error"
    assert refused["content"] == "Error: Unknown tool 'web_add'. Available tools: math_add."


async def test_a_server_that_dies_mid_run_gives_an_error_tool_message_and_the_run_ends(
    start: StartServer, servers_file: Path
) -> None:
    model = ScriptedChatModel(
        replies=[calls(("math_crash", {})), AIMessage("The math server crashed.")]
    )
    server = await start(model=model, mcp_servers_file=servers_file)
    async with httpx.AsyncClient(base_url=server.url, timeout=60) as http:
        result = await wait_run(http, "agent")
    (crashed,) = (m for m in result["messages"] if m["type"] == "tool")
    assert crashed["status"] == "error"
    assert crashed["content"].startswith("Error: Tool 'math_crash' failed: McpError")
    assert result["messages"][-1]["content"] == "The math server crashed."
