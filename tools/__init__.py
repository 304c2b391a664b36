"""Tools the agent can call: a safe calculator, a search over facts (offline or web), tools
from Python import paths and from MCP servers.

The names below are imported on first use (PEP 562), so that a compute worker, which needs only
`tools.arithmetic`, starts without importing LangChain and the search index. The tools named
like their modules are imported from those: `threadloom.tools.calculator.calculator`,
`threadloom.tools.search.search`.
"""

from __future__ import annotations

import importlib
from typing import Any

_MODULE_OF = {
    "CorpusError": "bm25",
    "SearchIndex": "bm25",
    "CalculatorError": "calculator",
    "evaluate": "calculator",
    "format_number": "calculator",
    "Fact": "fact",
    "SearchError": "fact",
    "SearchProvider": "fact",
    "DuplicateToolError": "registry",
    "UnknownToolError": "registry",
    "available_tools": "registry",
    "get_tools": "registry",
    "bundled_index": "search",
    "format_results": "search",
    "make_search_tool": "search",
    "TavilySearch": "tavily",
    "ToolImportError": "import_path",
    "import_tool": "import_path",
    "McpServerError": "mcp_servers",
    "load_mcp_tools": "mcp_servers",
    "read_mcp_servers": "mcp_servers",
}

__all__ = sorted(_MODULE_OF)


def __getattr__(name: str) -> Any:
    if name not in _MODULE_OF:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_MODULE_OF[name]}"), name)
