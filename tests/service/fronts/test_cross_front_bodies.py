"""Malformed bodies sent to every front (not UTF-8, wrong types, too large, nested too deep, and
no credentials): each is refused with a 4xx in the front's own error shape (OpenAI's on `/v1`,
a JSON-RPC error on `/mcp` and A2A, LangGraph's `{"detail"}` on the REST API), never a 5xx, and
the client's keep-alive connection serves its next request."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.service.threaded_server import threaded_server

MAX_BODY = 64 * 1024
MAX_DEPTH = 16
THREAD = str(uuid.uuid4())
# A front's JSON endpoints: REST, OpenAI, JSON-RPC (MCP, A2A).
ENDPOINTS: dict[str, str] = {
    "/threads": "rest",
    f"/threads/{THREAD}/runs/wait": "rest",
    "/runs/stream": "rest",
    "/assistants": "rest",
    "/runs/crons": "rest",
    "/store/items/search": "rest",
    f"/threads/{THREAD}/commands": "rest",
    "/v1/chat/completions": "openai",
    "/v1/responses": "openai",
    "/mcp": "json-rpc",
    "/a2a/agent": "json-rpc",
}
WRONG_TYPES = {
    key: 7
    for key in (
        "assistant_id",
        "input",
        "metadata",
        "model",
        "messages",
        "method",
        "params",
        "namespace_prefix",
        "schedule",
        "graph_id",
    )
} | {"jsonrpc": "2.0", "id": 1}
BODIES: dict[str, bytes] = {
    "not UTF-8": b'{"model": "\xff\xfe", "assistant_id": "\xc3\x28"}',
    "not JSON": b'{"model": ',
    "a list": b"[1, 2, 3]",
    "wrong types": json.dumps(WRONG_TYPES).encode(),
    "too deep": ("[" * (MAX_DEPTH + 4) + "]" * (MAX_DEPTH + 4)).encode(),
    "too large": json.dumps({"model": "agent", "pad": "x" * MAX_BODY}).encode(),
}
JSON = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    tmp = tmp_path_factory.mktemp("bodies")
    keys = {
        "api_keys": "alice:token-alice",
        "max_body_bytes": MAX_BODY,
        "max_json_depth": MAX_DEPTH,
    }
    with (
        threaded_server(Path(tmp) / "threadloom.sqlite", **keys) as url,
        httpx.Client(
            base_url=url, timeout=30, headers={"Authorization": "Bearer token-alice"}
        ) as http,
    ):
        yield http


def rest_shape(body: Any) -> None:
    assert isinstance(body["detail"], str), body


def openai_shape(body: Any) -> None:
    error = body["error"]
    assert isinstance(error["message"], str) and isinstance(error["type"], str), body


def json_rpc_shape(body: Any) -> None:
    assert body["jsonrpc"] == "2.0" and isinstance(body["error"]["code"], int), body
    assert isinstance(body["error"]["message"], str), body


SHAPES: dict[str, Callable[[Any], None]] = {
    "rest": rest_shape,
    "openai": openai_shape,
    "json-rpc": json_rpc_shape,
}


def _connection(response: httpx.Response) -> Any:
    """The client's end of the connection that carried `response`."""
    return response.extensions["network_stream"].get_extra_info("client_addr")


def check_refusal(client: httpx.Client, response: httpx.Response, front: str) -> None:
    # A2A answers its JSON-RPC errors with HTTP 200, as the protocol's HTTP binding does.
    refused = response.status_code == 200 if front == "json-rpc" else False
    assert refused or 400 <= response.status_code < 500, (response.status_code, response.text)
    SHAPES[front](response.json())
    # A body too large may be unread: that connection is closed, by design.
    kept = response.status_code != 413
    carried_by = _connection(response) if kept else None
    after = client.get("/ok")
    assert after.status_code == 200
    if kept:
        assert _connection(after) == carried_by


@pytest.mark.parametrize("kind", list(BODIES))
def test_malformed_bodies_get_each_fronts_own_4xx_and_the_connection_stays(
    client: httpx.Client, kind: str
) -> None:
    failures = []
    for path, front in ENDPOINTS.items():
        response = client.post(path, content=BODIES[kind], headers=JSON)
        try:
            check_refusal(client, response, front)
        except (AssertionError, KeyError, ValueError) as exc:
            failures.append(f"{path}: {exc!r}")
    assert not failures, "\n".join(failures)


def test_a_request_without_credentials_is_refused_in_each_fronts_shape(
    client: httpx.Client,
) -> None:
    for path, front in ENDPOINTS.items():
        response = client.post(
            path, json={"model": "agent"}, headers={**JSON, "Authorization": "Bearer wrong"}
        )
        assert response.status_code == 401, (path, response.text)
        SHAPES[front](response.json())


def test_oversize_openai_requests_are_400_not_500(client: httpx.Client) -> None:
    """The run's bounds (1,000 messages; 512 KiB a message) answer 400 on `/v1`, as OpenAI
    answers a body it cannot use."""
    many = {"model": "agent", "messages": [{"role": "user", "content": "hi"}] * 1001}
    answered = client.post("/v1/chat/completions", json=many)
    assert answered.status_code == 400, answered.text
    assert "1000" in answered.json()["error"]["message"]
