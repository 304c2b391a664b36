"""The `search` tool: the bundled offline corpus by default, Tavily web search when configured.

Example:
    >>> format_results("capital of France", [Fact("Paris", "Paris is the capital of France.")])
    'Paris: Paris is the capital of France.'
    >>> format_results("xyzzy", [])
    'No results found for: xyzzy'
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from pathlib import Path

from langchain_core.tools import BaseTool, tool

from threadloom.tools.bm25 import SearchIndex
from threadloom.tools.fact import Fact, SearchProvider
from threadloom.tools.tavily import TAVILY_URL, TavilySearch

CORPUS_PATH = Path(__file__).parent / "data" / "facts.jsonl"
RESULTS_PER_QUERY = 3


def format_results(query: str, facts: Sequence[Fact]) -> str:
    """The text a model reads: one `"{title}: {text}"` line per fact, or a no-results line."""
    if not facts:
        return f"No results found for: {query}"
    return "\n".join(f"{fact.title}: {fact.text}" for fact in facts)


@cache
def bundled_index() -> SearchIndex:
    """The offline corpus shipped with the package, loaded once per process."""
    return SearchIndex.from_jsonl(CORPUS_PATH)


class BundledCorpus:
    """The bundled corpus as a provider that reads it on its first search, not at import."""

    description = SearchIndex.description

    def search(self, query: str, k: int = 3) -> list[Fact]:
        return bundled_index().search(query, k)


def make_search_tool(tavily_api_key: str | None = None, tavily_url: str = TAVILY_URL) -> BaseTool:
    """A `search` tool over Tavily when a key is given, else over the bundled corpus."""
    provider: SearchProvider = (
        TavilySearch(tavily_api_key, tavily_url) if tavily_api_key else BundledCorpus()
    )

    @tool("search", description=provider.description)
    def search(query: str) -> str:
        return format_results(query, provider.search(query, k=RESULTS_PER_QUERY))

    return search


search = make_search_tool()
