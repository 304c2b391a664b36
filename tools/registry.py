"""Tools by name: what the settings list (`THREADLOOM_TOOLS=calculator,search`) becomes."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from langchain_core.tools import BaseTool

from threadloom.tools.calculator import calculator
from threadloom.tools.search import make_search_tool


class UnknownToolError(ValueError):
    """A configured tool name does not exist; the message lists the available ones."""


def _builders(tavily_api_key: str | None) -> dict[str, Callable[[], BaseTool]]:
    return {
        "calculator": lambda: calculator,
        "search": lambda: make_search_tool(tavily_api_key),
    }


def available_tools() -> list[str]:
    """The names `get_tools` accepts, sorted."""
    return sorted(_builders(None))


def get_tools(names: Sequence[str], *, tavily_api_key: str | None = None) -> list[BaseTool]:
    """The tools named, in order; `search` uses Tavily only when `tavily_api_key` is given."""
    builders = _builders(tavily_api_key)
    unknown = [name for name in names if name not in builders]
    if unknown:
        raise UnknownToolError(
            f"Unknown tool {', '.join(map(repr, unknown))}. "
            f"Available tools: {', '.join(available_tools())}."
        )
    return [builders[name]() for name in dict.fromkeys(names)]
