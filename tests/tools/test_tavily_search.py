"""Web search through Tavily, against a real HTTP server of the test's own on loopback."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from threadloom.tools.fact import Fact, SearchError
from threadloom.tools.search import make_search_tool
from threadloom.tools.tavily import MAX_TEXT_CHARS, TavilySearch


@dataclass
class FakeTavily:
    """What the loopback server answers, and the requests it received."""

    url: str
    status: int = 200
    body: bytes = b'{"results": []}'
    requests: list[dict[str, Any]] = field(default_factory=list)

    def answer(self, status: int = 200, body: Any = None, raw: bytes | None = None) -> None:
        self.status = status
        self.body = raw if raw is not None else json.dumps(body).encode()


class _Handler(BaseHTTPRequestHandler):
    """Records each request and answers what the test's `FakeTavily` holds."""

    server: _Server

    def do_POST(self) -> None:
        fake = self.server.fake
        length = int(self.headers["Content-Length"])
        fake.requests.append(
            {
                "path": self.path,
                "authorization": self.headers.get("Authorization"),
                "json": json.loads(self.rfile.read(length)),
            }
        )
        self.send_response(fake.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(fake.body)))
        self.end_headers()
        self.wfile.write(fake.body)

    def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
        pass


class _Server(ThreadingHTTPServer):
    fake: FakeTavily


@pytest.fixture
def tavily() -> Iterator[FakeTavily]:
    server = _Server(("127.0.0.1", 0), _Handler)
    server.fake = FakeTavily(url=f"http://127.0.0.1:{server.server_address[1]}/search")
    # A short poll interval only makes shutdown() return sooner.
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    yield server.fake
    server.shutdown()
    server.server_close()
    thread.join()


RESULTS = {
    "results": [
        {"title": "Vittoria Ceretti", "content": "Italian  model,\nborn 1998.", "url": "https://a"},
        {"title": "Leonardo DiCaprio", "content": "American actor.", "url": "https://b"},
    ]
}


def test_sends_the_query_and_key_and_reads_results(tavily: FakeTavily) -> None:
    tavily.answer(body=RESULTS)
    facts = TavilySearch("tvly-secret", tavily.url).search("DiCaprio girlfriend", k=2)
    assert facts == [
        Fact("Vittoria Ceretti", "Italian model, born 1998."),
        Fact("Leonardo DiCaprio", "American actor."),
    ]
    (request,) = tavily.requests
    assert request["path"] == "/search"
    assert request["authorization"] == "Bearer tvly-secret"
    assert request["json"] == {"query": "DiCaprio girlfriend", "max_results": 2}


def test_tool_with_a_key_formats_web_results_like_offline_ones(tavily: FakeTavily) -> None:
    tavily.answer(body=RESULTS)
    tool = make_search_tool(tavily_api_key="tvly-secret", tavily_url=tavily.url)
    assert tool.name == "search"
    assert "web" in tool.description
    assert tool.invoke({"query": "DiCaprio"}) == (
        "Vittoria Ceretti: Italian model, born 1998.\nLeonardo DiCaprio: American actor."
    )
    assert tavily.requests[0]["json"]["max_results"] == 3


def test_no_web_results_reads_as_no_results(tavily: FakeTavily) -> None:
    tavily.answer(body={"results": []})
    tool = make_search_tool(tavily_api_key="k", tavily_url=tavily.url)
    assert tool.invoke({"query": "xyzzy"}) == "No results found for: xyzzy"


def test_long_content_is_shortened_and_missing_title_uses_the_url(tavily: FakeTavily) -> None:
    tavily.answer(body={"results": [{"content": "word " * 500, "url": "https://example.org/x"}]})
    (fact,) = TavilySearch("k", tavily.url).search("q")
    assert fact.title == "https://example.org/x"
    assert len(fact.text) == MAX_TEXT_CHARS
    assert fact.text.endswith("…")


@pytest.mark.parametrize(
    ("status", "reason"),
    [(401, r"refused by .*\(HTTP 401\); check the Tavily API key"), (500, "answered HTTP 500")],
)
def test_http_errors_become_clear_search_errors(
    tavily: FakeTavily, status: int, reason: str
) -> None:
    tavily.answer(status=status, body={"detail": "nope"})
    tool = make_search_tool(tavily_api_key="tvly-secret", tavily_url=tavily.url)
    with pytest.raises(SearchError, match=reason) as caught:
        tool.invoke({"query": "anything"})
    assert "tvly-secret" not in str(caught.value)


@pytest.mark.parametrize(
    "raw", [b"not json", b'{"answer": "no results key"}', b'{"results": ["a string"]}']
)
def test_unexpected_answers_become_clear_search_errors(tavily: FakeTavily, raw: bytes) -> None:
    tavily.answer(raw=raw)
    with pytest.raises(SearchError, match="unexpected answer"):
        TavilySearch("k", tavily.url).search("q")


def test_unreachable_server_becomes_a_clear_search_error() -> None:
    with socket.socket() as probe:  # a port that was free a moment ago: nothing listens there
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/search"
    with pytest.raises(SearchError, match=f"could not reach {url}"):
        TavilySearch("k", url).search("q")
