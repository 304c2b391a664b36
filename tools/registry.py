"""Tools by name: what the settings list (`THREADLOOM_TOOLS=calculator,search`) becomes.

An entry is a built-in tool's name (`calculator`, `search`) or a Python import path
(`package.module:tool`, see `tools.import_path`); the tools of the MCP servers in the
`mcpServers` file, when one is given, join them (see `tools.mcp_servers`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from langchain_core.tools import BaseTool

from threadloom.tools.calculator import calculator
from threadloom.tools.import_path import import_tool, is_import_path
from threadloom.tools.mcp_servers import load_mcp_tools
from threadloom.tools.search import make_search_tool


class UnknownToolError(ValueError):
    """A configured tool name does not exist; the message lists the available ones."""


class DuplicateToolError(ValueError):
    """Two configured tools have the same name, so the model could not tell them apart."""


def _builders(tavily_api_key: str | None) -> dict[str, Callable[[], BaseTool]]:
    return {
        "calculator": lambda: calculator,
        "search": lambda: make_search_tool(tavily_api_key),
    }


def available_tools() -> list[str]:
    """The built-in names `get_tools` accepts, sorted."""
    return sorted(_builders(None))


def get_tools(
    names: Sequence[str],
    *,
    tavily_api_key: str | None = None,
    mcp_servers_file: Path | None = None,
    mcp_timeout_s: float = 30.0,
) -> list[BaseTool]:
    """The tools named, in order, then those of the MCP servers file's servers; `search` uses
    Tavily only when `tavily_api_key` is given. Raises a `ValueError` (`UnknownToolError`,
    `ToolImportError`, `McpServerError`, `DuplicateToolError`) that says which entry is wrong."""
    builders = _builders(tavily_api_key)
    unknown = [name for name in names if name not in builders and not is_import_path(name)]
    if unknown:
        raise UnknownToolError(
            f"Unknown tool {', '.join(map(repr, unknown))}. "
            f"Available tools: {', '.join(available_tools())}, "
            "or a Python import path such as 'package.module:tool'."
        )
    tools = [
        import_tool(name) if is_import_path(name) else builders[name]()
        for name in dict.fromkeys(names)
    ]
    if mcp_servers_file is not None:
        tools += load_mcp_tools(mcp_servers_file, mcp_timeout_s)
    _check_unique(tools)
    return tools


def _check_unique(tools: Sequence[BaseTool]) -> None:
    seen: set[str] = set()
    for tool in tools:
        if tool.name in seen:
            raise DuplicateToolError(
                f"Two tools are named {tool.name!r}; configure only one of them."
            )
        seen.add(tool.name)
