"""Tools the agent can call: a safe calculator, a search over facts (offline or web), tools
from Python import paths and from MCP servers."""

from threadloom.tools.bm25 import CorpusError, SearchIndex
from threadloom.tools.calculator import CalculatorError, calculator, evaluate, format_number
from threadloom.tools.fact import Fact, SearchError, SearchProvider
from threadloom.tools.import_path import ToolImportError, import_tool
from threadloom.tools.mcp_servers import McpServerError, load_mcp_tools, read_mcp_servers
from threadloom.tools.registry import (
    DuplicateToolError,
    UnknownToolError,
    available_tools,
    get_tools,
)
from threadloom.tools.search import bundled_index, format_results, make_search_tool, search
from threadloom.tools.tavily import TavilySearch

__all__ = [
    "CalculatorError",
    "CorpusError",
    "DuplicateToolError",
    "Fact",
    "McpServerError",
    "SearchError",
    "SearchIndex",
    "SearchProvider",
    "TavilySearch",
    "ToolImportError",
    "UnknownToolError",
    "available_tools",
    "bundled_index",
    "calculator",
    "evaluate",
    "format_number",
    "format_results",
    "get_tools",
    "import_tool",
    "load_mcp_tools",
    "make_search_tool",
    "read_mcp_servers",
    "search",
]
