"""MCP servers' tools: the `mcpServers` file, real servers over stdio and Streamable HTTP, and
the failures that must be clear (a bad file, a server that cannot start) or contained (a
server that dies during a call)."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import AIMessage

from tests.tools.mcp_http_server import TOKEN, serving_math_over_http
from threadloom.graphs.tool_runner import ToolRunner
from threadloom.tools.mcp_servers import McpServerError, load_mcp_tools, read_mcp_servers
from threadloom.tools.registry import get_tools

# Each stdio server is a Python process started per session: several per test.
pytestmark = pytest.mark.slow

MATH_SERVER = str(Path(__file__).with_name("mcp_math_server.py"))


def servers_file(tmp_path: Path, servers: Any) -> Path:
    path = tmp_path / "mcp.json"
    path.write_text(json.dumps({"mcpServers": servers}))
    return path


def stdio_math(**extra: Any) -> dict[str, Any]:
    return {"command": sys.executable, "args": [MATH_SERVER], **extra}


async def run_calls(
    tools: list[Any], *calls: tuple[str, dict[str, Any]], timeout_s: float = 20
) -> list[Any]:
    """Run tool calls the way the agent does, through its tool runner."""
    request = AIMessage(
        "", tool_calls=[{"name": n, "args": a, "id": f"c{i}"} for i, (n, a) in enumerate(calls)]
    )
    result = await ToolRunner(tools, timeout_s=timeout_s)({"messages": [request]}, {})
    return result["messages"]


def test_the_file_becomes_stdio_and_http_connections(tmp_path: Path) -> None:
    path = servers_file(
        tmp_path,
        {
            "math": stdio_math(env={"MATH_OFFSET": "1"}),
            "web": {"url": "http://127.0.0.1:9/mcp", "headers": {"Authorization": "Bearer x"}},
            "old": {"type": "sse", "url": "http://127.0.0.1:9/sse"},
        },
    )
    connections = read_mcp_servers(path)
    assert connections["math"] == {
        "transport": "stdio",
        "command": sys.executable,
        "args": [MATH_SERVER],
        "env": {"MATH_OFFSET": "1"},
    }
    assert connections["web"] == {
        "transport": "streamable_http",
        "url": "http://127.0.0.1:9/mcp",
        "headers": {"Authorization": "Bearer x"},
    }
    assert connections["old"]["transport"] == "sse"


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("{not json", "is not valid JSON"),
        (json.dumps({"servers": {}}), 'needs an object "mcpServers"'),
        (json.dumps({"mcpServers": {"m": {}}}), "MCP server 'm': give either \"command\""),
        (
            json.dumps({"mcpServers": {"m": {"command": "x", "url": "http://h"}}}),
            "give either",
        ),
        (json.dumps({"mcpServers": {"m": {"command": "x", "args": "a b"}}}), '"args" must be'),
        (json.dumps({"mcpServers": {"a:b": {"command": "x"}}}), "MCP server 'a:b': a server"),
        (json.dumps({"mcpServers": {"m": {"url": "http://h", "type": "ws"}}}), 'unknown "type"'),
    ],
)
def test_a_bad_file_says_what_is_wrong(tmp_path: Path, content: str, expected: str) -> None:
    path = tmp_path / "mcp.json"
    path.write_text(content)
    with pytest.raises(McpServerError, match=expected) as caught:
        read_mcp_servers(path)
    assert isinstance(caught.value, ValueError)


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(McpServerError, match=r"Cannot read the MCP servers file .*nope\.json"):
        read_mcp_servers(tmp_path / "nope.json")


async def test_stdio_tools_join_the_built_in_ones_and_answer(tmp_path: Path) -> None:
    path = servers_file(tmp_path, {"math": stdio_math(env={"MATH_OFFSET": "1000"})})
    tools = await asyncio.to_thread(get_tools, ["calculator"], mcp_servers_file=path)
    names = [tool.name for tool in tools]
    assert names == ["calculator", "math_add", "math_divide", "math_crash", "math_stall"]
    assert "Add two whole numbers" in tools[1].description

    added, divided = await run_calls(
        tools, ("math_add", {"a": 2, "b": 3}), ("math_divide", {"a": 1, "b": 0})
    )
    assert (added.content, added.status, added.tool_call_id) == ("1005", "success", "c0")
    assert divided.status == "error" and "cannot divide by zero" in divided.content


async def test_a_server_that_dies_during_a_call_answers_an_error_and_the_next_call_works(
    tmp_path: Path,
) -> None:
    tools = await asyncio.to_thread(load_mcp_tools, servers_file(tmp_path, {"m": stdio_math()}))
    (crashed,) = await run_calls(tools, ("m_crash", {}))
    assert crashed.status == "error"
    assert crashed.content.startswith("Error: Tool 'm_crash' failed: McpError")
    (added,) = await run_calls(tools, ("m_add", {"a": 20, "b": 22}))
    assert added.content == "42"


async def test_a_call_to_a_server_that_hangs_is_cut_off_with_an_error(tmp_path: Path) -> None:
    tools = await asyncio.to_thread(load_mcp_tools, servers_file(tmp_path, {"m": stdio_math()}))
    (stalled,) = await run_calls(tools, ("m_stall", {}), timeout_s=3)
    assert stalled.status == "error"
    assert stalled.content == "Error: Tool 'm_stall' took longer than 3 s."


async def test_http_server_tools_are_called_with_the_configured_headers(tmp_path: Path) -> None:
    async with serving_math_over_http() as url:
        good = servers_file(
            tmp_path, {"web": {"url": url, "headers": {"Authorization": f"Bearer {TOKEN}"}}}
        )
        tools = await asyncio.to_thread(load_mcp_tools, good)
        (added,) = await run_calls(tools, ("web_add", {"a": 17, "b": 25}))
        assert added.content == "42"

        refused = servers_file(tmp_path, {"web": {"url": url}})
        with pytest.raises(McpServerError, match="MCP server 'web' could not start"):
            await asyncio.to_thread(load_mcp_tools, refused)


def test_a_command_that_does_not_exist_is_a_start_up_error_naming_the_server(
    tmp_path: Path,
) -> None:
    path = servers_file(tmp_path, {"broken": {"command": "/no/such/mcp-server"}})
    with pytest.raises(McpServerError) as caught:
        get_tools([], mcp_servers_file=path)
    assert str(caught.value) == (
        "MCP server 'broken' could not start or list its tools: FileNotFoundError: "
        "[Errno 2] No such file or directory: '/no/such/mcp-server'"
    )


def test_a_server_that_never_answers_times_out_at_start_up(tmp_path: Path) -> None:
    # `sleep` starts, and never answers the requests sent to it.
    path = servers_file(tmp_path, {"silent": {"command": "sleep", "args": ["30"]}})
    with pytest.raises(McpServerError, match=r"'silent' did not list its tools within 0\.5 s"):
        load_mcp_tools(path, timeout_s=0.5)
