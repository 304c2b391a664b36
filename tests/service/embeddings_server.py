"""An OpenAI-compatible embeddings server on loopback, as self-hosters run TEI, vLLM or Infinity:
`POST /v1/embeddings` answers vectors of `DIMS` numbers (one per topic of `TOPICS`, and a
constant one), as floats or base64 as the client asks. It serves from a thread of its own, so
processes and this test's event loop reach it alike; `requests` keeps what each call sent."""

from __future__ import annotations

import base64
import json
import re
import struct
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

TOPICS = [
    {"cat", "cats", "kitten", "feline", "mat", "pet", "pets"},
    {"dog", "dogs", "puppy", "bark"},
    {"stock", "stocks", "market", "shares", "money"},
]
DIMS = len(TOPICS) + 1
MODEL = "text-embedding-3-small"


def vector(text: str) -> list[float]:
    words = re.findall(r"[a-z]+", text.lower())
    return [float(sum(word in topic for word in words)) for topic in TOPICS] + [1.0]


@dataclass
class EmbeddingsServer:
    url: str
    requests: list[dict[str, Any]] = field(default_factory=list)
    api_keys: list[str | None] = field(default_factory=list)


def _handler(server: EmbeddingsServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            server.requests.append(body)
            server.api_keys.append(self.headers.get("Authorization"))
            if self.path != "/v1/embeddings" or not all(isinstance(t, str) for t in body["input"]):
                self._answer(400, {"error": {"message": "input must be a list of texts"}})
                return
            data = [
                {"object": "embedding", "index": i, "embedding": _encoded(vector(text), body)}
                for i, text in enumerate(body["input"])
            ]
            usage = {"prompt_tokens": 1, "total_tokens": 1}
            self._answer(200, {"object": "list", "data": data, "model": MODEL, "usage": usage})

        def _answer(self, status: int, payload: dict[str, Any]) -> None:
            raw = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def log_message(self, format: str, *args: Any) -> None:
            return

    return Handler


def _encoded(numbers: list[float], body: dict[str, Any]) -> Any:
    if body.get("encoding_format") == "base64":
        return base64.b64encode(struct.pack(f"<{len(numbers)}f", *numbers)).decode()
    return numbers


@contextmanager
def embeddings_server() -> Iterator[EmbeddingsServer]:
    """Serve on 127.0.0.1 (an ephemeral port) until the block ends; `url` ends in `/v1`, as
    `OPENAI_BASE_URL` takes it."""
    state = EmbeddingsServer("")
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    state.url = f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()
