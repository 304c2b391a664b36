"""Tools of MCP servers, named in a JSON file in the common `mcpServers` format:

    {"mcpServers": {
        "math": {"command": "python", "args": ["math_server.py"], "env": {"DEBUG": "0"}},
        "weather": {"url": "http://127.0.0.1:9000/mcp", "headers": {"Authorization": "Bearer …"}}
    }}

An entry with `command` is started as a child process and spoken to over stdio; one with `url`
is reached over Streamable HTTP (`"type": "sse"` for the older SSE transport). Each tool is named
`<server>_<tool>` (langchain-mcp-adapters' prefix), so two servers may offer tools of the same
name. Every server is started once when the tools are loaded, to list its tools: one that cannot
start, or does not answer within the timeout, is an `McpServerError` naming it. Afterwards each
tool call opens its own session (a stdio server is started for the call), so a server that dies
fails that call only — the agent's tool runner turns the failure into an error tool message.
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
from collections.abc import Coroutine, Mapping
from pathlib import Path
from typing import Any, TypeVar

from langchain_core.tools import BaseTool
from langchain_mcp_adapters.client import MultiServerMCPClient
from langchain_mcp_adapters.sessions import Connection

T = TypeVar("T")
SERVER_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
HTTP_TYPES = {"http", "streamable-http", "streamable_http"}


class McpServerError(ValueError):
    """The MCP servers file is unusable, or a server in it cannot start or list its tools."""


def read_mcp_servers(path: Path) -> dict[str, Connection]:
    """The connections the file at `path` describes, by server name."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise McpServerError(f"Cannot read the MCP servers file {path}: {exc.strerror}.") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise McpServerError(f"The MCP servers file {path} is not valid JSON: {exc}.") from None
    servers = document.get("mcpServers") if isinstance(document, dict) else None
    if not isinstance(servers, dict):
        raise McpServerError(
            f'The MCP servers file {path} needs an object "mcpServers" mapping each server\'s '
            "name to its command or url."
        )
    return {name: _connection(name, entry) for name, entry in servers.items()}


def _connection(name: str, entry: Any) -> Connection:
    where = f"MCP server {name!r}"
    if not SERVER_NAME.match(name):
        raise McpServerError(
            f"{where}: a server name may hold only letters, digits, '_' and '-' (it prefixes "
            "the names of its tools)."
        )
    if not isinstance(entry, dict) or ("command" in entry) == ("url" in entry):
        raise McpServerError(f'{where}: give either "command" (stdio) or "url" (HTTP).')
    if "command" in entry:
        connection: dict[str, Any] = {
            "transport": "stdio",
            "command": _text(entry["command"], where, "command"),
            "args": _texts(entry.get("args", []), where, "args"),
        }
        if entry.get("env") is not None:
            connection["env"] = _text_map(entry["env"], where, "env")
        if entry.get("cwd") is not None:
            connection["cwd"] = _text(entry["cwd"], where, "cwd")
        return connection  # type: ignore[return-value]
    kind = entry.get("type") or entry.get("transport") or "http"
    if kind not in HTTP_TYPES | {"sse"}:
        raise McpServerError(f'{where}: unknown "type" {kind!r}; use "http" or "sse".')
    return {  # type: ignore[return-value]
        "transport": "sse" if kind == "sse" else "streamable_http",
        "url": _text(entry["url"], where, "url"),
        "headers": _text_map(entry.get("headers") or {}, where, "headers"),
    }


def _text(value: Any, where: str, key: str) -> str:
    if not isinstance(value, str) or not value:
        raise McpServerError(f'{where}: "{key}" must be a non-empty string.')
    return value


def _texts(value: Any, where: str, key: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise McpServerError(f'{where}: "{key}" must be a list of strings.')
    return value


def _text_map(value: Any, where: str, key: str) -> dict[str, str]:
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise McpServerError(f'{where}: "{key}" must be an object of string values.')
    return value


async def alist_mcp_tools(
    connections: Mapping[str, Connection], timeout_s: float
) -> list[BaseTool]:
    """Start each server, list its tools (in the file's order), and stop it again."""
    client = MultiServerMCPClient(dict(connections), tool_name_prefix=True)
    found = await asyncio.gather(*(_server_tools(client, name, timeout_s) for name in connections))
    return [tool for tools in found for tool in tools]


async def _server_tools(
    client: MultiServerMCPClient, name: str, timeout_s: float
) -> list[BaseTool]:
    try:
        return await asyncio.wait_for(client.get_tools(server_name=name), timeout_s)
    except TimeoutError:
        raise McpServerError(
            f"MCP server {name!r} did not list its tools within {timeout_s:g} s."
        ) from None
    except Exception as exc:
        raise McpServerError(
            f"MCP server {name!r} could not start or list its tools: {_root_cause(exc)}"
        ) from exc


def _root_cause(exc: BaseException) -> str:
    # The MCP client's task groups wrap the failure that matters in exception groups.
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def load_mcp_tools(path: Path, timeout_s: float = 30.0) -> list[BaseTool]:
    """The tools of every server in the file at `path`; callable with or without a running
    event loop (the servers are listed on a loop of their own)."""
    return _run_on_own_loop(alist_mcp_tools(read_mcp_servers(path), timeout_s))


def _run_on_own_loop(work: Coroutine[Any, Any, T]) -> T:
    # Graphs are built in a worker thread by the service, but at import time by `langgraph
    # dev`, inside its running loop, where `asyncio.run` is refused: a thread serves both.
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["value"] = asyncio.run(work)
        except BaseException as exc:
            outcome["error"] = exc

    thread = threading.Thread(target=run, name="mcp-tools")
    thread.start()
    thread.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]
