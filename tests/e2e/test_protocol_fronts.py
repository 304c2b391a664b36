"""The protocol fronts against `threadloom serve` with the bundled model: the official `mcp`
client calls the agent at `/mcp`, the `a2a-sdk` client at `/a2a/agent`; a server in the MCP
servers file that cannot start stops the start-up."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from a2a.client import ClientConfig, create_client
from a2a.types import Message, Part, Role, SendMessageRequest, TaskState
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client

from tests.e2e.server_process import ServerProcess

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """One server for the module: starting one with the model is the slow part."""
    process = ServerProcess(tmp_path_factory.mktemp("fronts") / "threadloom.sqlite")
    process.start()
    yield process
    process.stop()


async def test_an_mcp_client_lists_and_calls_the_agent(server: ServerProcess) -> None:
    async with (
        streamable_http_client(f"{server.url}/mcp") as (read, write, _),
        ClientSession(read, write) as session,
    ):
        info = await session.initialize()
        assert info.serverInfo.name == "threadloom"
        assert info.capabilities.tools is not None

        # One tool per graph of the repository's langgraph.json.
        tools = {tool.name: tool for tool in (await session.list_tools()).tools}
        assert set(tools) == {"agent", "supervisor", "approval"}
        assert tools["agent"].inputSchema["required"] == ["messages"]

        answer = await session.call_tool("agent", {"messages": "compute 17*23"})
        assert answer.isError is False
        assert "391" in answer.content[0].text
        steps = answer.structuredContent["messages"]
        assert steps[1]["tool_calls"][0]["args"] == {"expression": "17*23"}
        assert steps[2]["content"] == "391"

        bad = await session.call_tool("agent", {"message": "compute 17*23"})
        assert bad.isError is True
        assert bad.content[0].text == "Invalid arguments: 'messages' is a required property"


async def test_an_a2a_client_sends_a_message_to_the_agent(server: ServerProcess) -> None:
    async with httpx.AsyncClient(timeout=60) as http:
        client = await create_client(
            f"{server.url}/a2a/agent", client_config=ClientConfig(httpx_client=http)
        )
        message = Message(role=Role.ROLE_USER, message_id="m-1", parts=[Part(text="compute 17*23")])
        events = [event async for event in client.send_message(SendMessageRequest(message=message))]
    assert events[-1].status_update.status.state == TaskState.TASK_STATE_COMPLETED
    (answer,) = [e.artifact_update.artifact for e in events if e.HasField("artifact_update")]
    assert "391" in answer.parts[0].text


def test_an_mcp_server_that_cannot_start_stops_the_start_up(tmp_path: Path) -> None:
    servers = tmp_path / "mcp.json"
    servers.write_text(json.dumps({"mcpServers": {"broken": {"command": "/no/such/server"}}}))
    process = ServerProcess(
        tmp_path / "threadloom.sqlite", env={"THREADLOOM_MCP_SERVERS_FILE": str(servers)}
    )
    with pytest.raises(RuntimeError, match="server did not start"):
        process.start()
    last = "".join(process.log)
    assert (
        "ConfigurationError: MCP server 'broken' could not start or list its tools: "
        "FileNotFoundError: [Errno 2] No such file or directory: '/no/such/server'"
    ) in last
