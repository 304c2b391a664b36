"""`TavilySearch`: web search through the Tavily API, used only when an API key is configured."""

from __future__ import annotations

import logging
from typing import Any

import httpx

from threadloom.tools.fact import Fact, SearchError

TAVILY_URL = "https://api.tavily.com/search"
MAX_TEXT_CHARS = 400  # web snippets are long; a short text keeps the model's context small

logger = logging.getLogger(__name__)


class TavilySearch:
    """Asks Tavily for the top results; each becomes a `Fact` of its title and content."""

    description = "Search the web for short facts about people, places and events."

    def __init__(self, api_key: str, url: str = TAVILY_URL, timeout_s: float = 15.0) -> None:
        self._api_key = api_key
        self.url = url
        self.timeout_s = timeout_s

    def search(self, query: str, k: int = 3) -> list[Fact]:
        """The top `k` web results; raises `SearchError` when Tavily cannot answer."""
        try:
            response = httpx.post(
                self.url,
                json={"query": query, "max_results": k},
                headers={"Authorization": f"Bearer {self._api_key}"},
                timeout=self.timeout_s,
            )
        except httpx.HTTPError as exc:
            raise SearchError(f"Web search could not reach {self.url}: {exc}.") from exc
        if response.status_code in (401, 403):
            raise SearchError(
                f"Web search was refused by {self.url} (HTTP {response.status_code}); "
                "check the Tavily API key (THREADLOOM_TAVILY_API_KEY)."
            )
        if response.is_error:
            raise SearchError(
                f"Web search failed: {self.url} answered HTTP {response.status_code}."
            )
        try:
            results = _results(response.json())
        except ValueError as exc:
            raise SearchError(f"Web search failed: {self.url} gave an unexpected answer.") from exc
        logger.info("tavily_search results=%d", len(results))
        return [_fact(result) for result in results[:k]]


def _results(body: Any) -> list[dict[str, Any]]:
    results = body.get("results") if isinstance(body, dict) else None
    if not isinstance(results, list) or not all(isinstance(item, dict) for item in results):
        raise ValueError("no list of results")
    return results


def _fact(result: dict[str, Any]) -> Fact:
    text = " ".join(str(result.get("content") or "").split())
    if len(text) > MAX_TEXT_CHARS:
        text = text[: MAX_TEXT_CHARS - 1].rstrip() + "…"
    title = " ".join(str(result.get("title") or result.get("url") or "Untitled").split())
    return Fact(title=title, text=text)
