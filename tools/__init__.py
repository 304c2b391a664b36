"""Tools the agent can call: a safe calculator and a search over facts (offline or web)."""

from threadloom.tools.bm25 import CorpusError, SearchIndex
from threadloom.tools.calculator import CalculatorError, calculator, evaluate, format_number
from threadloom.tools.fact import Fact, SearchError, SearchProvider
from threadloom.tools.registry import UnknownToolError, available_tools, get_tools
from threadloom.tools.search import bundled_index, format_results, make_search_tool, search
from threadloom.tools.tavily import TavilySearch

__all__ = [
    "CalculatorError",
    "CorpusError",
    "Fact",
    "SearchError",
    "SearchIndex",
    "SearchProvider",
    "TavilySearch",
    "UnknownToolError",
    "available_tools",
    "bundled_index",
    "calculator",
    "evaluate",
    "format_number",
    "format_results",
    "get_tools",
    "make_search_tool",
    "search",
]
