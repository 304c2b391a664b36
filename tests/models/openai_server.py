"""A loopback OpenAI-compatible chat-completions server for the remote-model tests.

It speaks the wire format that TGI and vLLM speak on `/v1/chat/completions`: a JSON completion,
or (when the request says `"stream": true`) server-sent events with `choices[0].delta` chunks,
tool-call deltas carrying an `index`, a usage chunk when `stream_options.include_usage` is set,
and `data: [DONE]`; `GET /v1/models` lists the models it was given (404 with none). Each test
scripts the replies and reads back the request bodies (and headers, lower-cased) it received.

Example:
    >>> with OpenAIServer() as server:
    ...     server.script(Reply(content="hi", prompt_tokens=3, completion_tokens=1))
    ...     ...  # point a client at server.url
    ...     server.requests[0]["messages"]
"""

from __future__ import annotations

import json
import re
import threading
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

CHAT_COMPLETIONS_PATH = "/v1/chat/completions"
MODELS_PATH = "/v1/models"


@dataclass(frozen=True)
class ToolCallReply:
    """One tool call; `arguments` is a JSON string (vLLM, TGI >= 3.1) or an object (older TGI)."""

    name: str
    arguments: str | dict[str, Any]
    id: str = ""


@dataclass(frozen=True)
class Reply:
    """What the server answers to the next request.

    A `status` other than 200 answers `error` as TGI does, or `error_body` as given (vLLM's and
    OpenAI's shapes differ); with status 200 and an `error`, a streamed reply breaks off after its
    content with an error event (TGI's mid-stream failure).
    """

    content: str = ""
    tool_calls: tuple[ToolCallReply, ...] = ()
    prompt_tokens: int = 0
    completion_tokens: int = 0
    status: int = 200
    error: str = ""
    error_body: dict[str, Any] | None = None


class OpenAIServer:
    """Serves scripted replies on 127.0.0.1 (ephemeral port) from a background thread."""

    def __init__(self, models: tuple[str, ...] | None = ("org/tiny-chat",)) -> None:
        self.models = models
        # While True, `/v1/models` answers 503, as a server still loading its weights does.
        self.loading = False
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self._replies: deque[Reply] = deque()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        # A short poll interval: shutdown() waits for it, once per test.
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def url(self) -> str:
        """Base URL, as a TGI or vLLM deployment would be configured (no `/v1` path)."""
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def script(self, *replies: Reply) -> None:
        """Queue replies, answered in order, one per request."""
        self._replies.extend(replies)

    def __enter__(self) -> OpenAIServer:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join()

    def _next_reply(self) -> Reply:
        if not self._replies:
            return Reply(status=500, error="the test scripted no reply for this request")
        return self._replies.popleft()


def _handler_for(server: OpenAIServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            server.headers.append({k.lower(): v for k, v in self.headers.items()})
            if server.loading:
                self._send_json(503, {"error": "the model is loading"})
                return
            if self.path != MODELS_PATH or server.models is None:
                self._send_json(404, {"error": f"no route {self.path}"})
                return
            entries = [{"id": name, "object": "model"} for name in server.models]
            self._send_json(200, {"object": "list", "data": entries})

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            server.requests.append(body)
            server.headers.append({k.lower(): v for k, v in self.headers.items()})
            if self.path == CHAT_COMPLETIONS_PATH:
                reply = server._next_reply()
            else:
                reply = Reply(status=404, error=f"no route {self.path}")
            if reply.status != 200:
                error_type = "validation" if reply.status < 500 else "overloaded"  # as TGI says
                body = reply.error_body or {"error": reply.error, "error_type": error_type}
                self._send_json(reply.status, body)
            elif body.get("stream"):
                include_usage = (body.get("stream_options") or {}).get("include_usage", False)
                self._send_events(_stream_chunks(reply, body.get("model", ""), include_usage))
            else:
                self._send_json(200, _completion(reply, body.get("model", "")))

        def _send_json(self, status: int, payload: dict[str, Any]) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _send_events(self, chunks: Iterator[dict[str, Any]]) -> None:
            # HTTP/1.0 without Content-Length: the body ends when the connection closes.
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.end_headers()
            for chunk in chunks:
                self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
            self.wfile.write(b"data: [DONE]\n\n")

        def log_message(self, format: str, *args: Any) -> None:
            pass  # keep pytest output quiet

    return Handler


def _usage(reply: Reply) -> dict[str, int]:
    total = reply.prompt_tokens + reply.completion_tokens
    return {
        "prompt_tokens": reply.prompt_tokens,
        "completion_tokens": reply.completion_tokens,
        "total_tokens": total,
    }


def _finish_reason(reply: Reply) -> str:
    return "tool_calls" if reply.tool_calls else "stop"


def _call_id(call: ToolCallReply, index: int) -> str:
    return call.id or f"call_{index}"


def _completion(reply: Reply, model: str) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": reply.content or None}
    if reply.tool_calls:
        message["tool_calls"] = [
            {
                "id": _call_id(call, i),
                "type": "function",
                "function": {"name": call.name, "arguments": call.arguments},
            }
            for i, call in enumerate(reply.tool_calls)
        ]
    return {
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "created": 0,
        "model": model,
        "choices": [{"index": 0, "message": message, "finish_reason": _finish_reason(reply)}],
        "usage": _usage(reply),
    }


def _stream_chunks(reply: Reply, model: str, include_usage: bool) -> Iterator[dict[str, Any]]:
    def chunk(delta: dict[str, Any], finish_reason: str | None = None) -> dict[str, Any]:
        return {
            "id": "chatcmpl-test",
            "object": "chat.completion.chunk",
            "created": 0,
            "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}],
        }

    yield chunk({"role": "assistant", "content": ""})
    for piece in re.findall(r"\S+\s*", reply.content):
        yield chunk({"content": piece})
    if reply.error:
        yield {"error": reply.error, "error_type": "generation"}
        return
    for index, call in enumerate(reply.tool_calls):
        # Like vLLM: the first delta names the call, the arguments follow in pieces.
        head = {"name": call.name, "arguments": ""}
        yield chunk(
            {
                "tool_calls": [
                    {
                        "index": index,
                        "id": _call_id(call, index),
                        "type": "function",
                        "function": head,
                    }
                ]
            }
        )
        arguments = (
            call.arguments if isinstance(call.arguments, str) else json.dumps(call.arguments)
        )
        middle = len(arguments) // 2
        for piece in (arguments[:middle], arguments[middle:]):
            yield chunk({"tool_calls": [{"index": index, "function": {"arguments": piece}}]})
    yield chunk({}, _finish_reason(reply))
    if include_usage:
        yield {
            "id": "chatcmpl-test",
            "object": "chat.completion.chunk",
            "created": 0,
            "model": model,
            "choices": [],
            "usage": _usage(reply),
        }
