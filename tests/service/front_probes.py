"""The cross-front probe table (tests/service/fronts): what bob tries on alice's data through
each front, and what a refusal looks like on each (LangGraph's `{"detail"}`, OpenAI's error,
a JSON-RPC error or an MCP tool's error result)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

MCP_HEADERS = {"Accept": "application/json, text/event-stream"}
ASK = {"messages": [{"role": "user", "content": "hello"}]}


@dataclass(frozen=True)
class Alice:
    """What alice owns: a thread with one finished run, a private assistant, a cron and a
    store item."""

    thread: str
    run: str
    assistant: str
    cron: str

    @property
    def ids(self) -> tuple[str, ...]:
        return (self.thread, self.run, self.assistant, self.cron, "alice-private", "secret-value")


# What a refusal looks like on each front.
def rest_refused(response: httpx.Response, alice: Alice) -> None:
    assert response.status_code in (403, 404), (response.status_code, response.text[:300])
    assert isinstance(response.json()["detail"], str)


def openai_refused(response: httpx.Response, alice: Alice) -> None:
    assert response.status_code in (403, 404), (response.status_code, response.text[:300])
    assert isinstance(response.json()["error"]["message"], str)


def rpc_refused(response: httpx.Response, alice: Alice) -> None:
    """A JSON-RPC error (A2A answers them with HTTP 200), or an MCP tool's error result."""
    assert response.status_code < 500, response.text[:300]
    body = response.json()
    assert "error" in body or body["result"].get("isError") is True, body


def absent(response: httpx.Response, alice: Alice) -> None:
    """A list that answers, with nothing of alice's in it."""
    assert response.status_code == 200, (response.status_code, response.text[:300])
    assert not [found for found in alice.ids if found in response.text], response.text[:300]


def refused_or_absent(response: httpx.Response, alice: Alice) -> None:
    """The store under API keys: each owner has a store of its own, so bob's request under
    the namespace "alice" reads or writes his store, never hers; a policy refuses it (403)."""
    if response.status_code == 403:
        rest_refused(response, alice)
    elif response.status_code != 204:
        absent(response, alice)


Probe = Callable[[httpx.Client, Alice], httpx.Response]


def rpc(method: str, params: dict[str, Any]) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": 1, "method": method, "params": params}


def message(**ids: str) -> dict[str, Any]:
    return {
        "message": {
            "messageId": str(uuid.uuid4()),
            "role": "user",
            "parts": [{"text": "hi"}],
            **ids,
        }
    }


def chat(model: str, **extra: Any) -> dict[str, Any]:
    return {"model": model, "messages": [{"role": "user", "content": "hi"}], **extra}


def run(assistant: str) -> dict[str, Any]:
    return {"assistant_id": assistant, "input": ASK}


PROBES: dict[str, tuple[Probe, Callable[[httpx.Response, Alice], None]]] = {
    # REST
    "rest thread read": (lambda c, a: c.get(f"/threads/{a.thread}"), rest_refused),
    "rest thread state": (lambda c, a: c.get(f"/threads/{a.thread}/state"), rest_refused),
    "rest thread list": (lambda c, a: c.post("/threads/search", json={}), absent),
    "rest thread write": (
        lambda c, a: c.patch(f"/threads/{a.thread}", json={"metadata": {"x": 1}}),
        rest_refused,
    ),
    "rest state write": (
        lambda c, a: c.post(f"/threads/{a.thread}/state", json={"values": ASK}),
        rest_refused,
    ),
    "rest run": (
        lambda c, a: c.post(f"/threads/{a.thread}/runs/wait", json=run("agent")),
        rest_refused,
    ),
    "rest stream": (
        lambda c, a: c.post(f"/threads/{a.thread}/runs/stream", json=run("agent")),
        rest_refused,
    ),
    "rest run read": (lambda c, a: c.get(f"/threads/{a.thread}/runs/{a.run}"), rest_refused),
    "rest run join stream": (
        lambda c, a: c.get(f"/threads/{a.thread}/runs/{a.run}/stream"),
        rest_refused,
    ),
    "rest cancel": (
        lambda c, a: c.post(f"/threads/{a.thread}/runs/{a.run}/cancel"),
        rest_refused,
    ),
    "rest assistant read": (lambda c, a: c.get(f"/assistants/{a.assistant}"), rest_refused),
    "rest assistant list": (lambda c, a: c.post("/assistants/search", json={}), absent),
    "rest assistant run": (lambda c, a: c.post("/runs/wait", json=run(a.assistant)), rest_refused),
    "rest cron read": (lambda c, a: c.get(f"/runs/crons/{a.cron}"), rest_refused),
    "rest cron list": (lambda c, a: c.post("/runs/crons/search", json={}), absent),
    "rest cron write": (
        lambda c, a: c.patch(f"/runs/crons/{a.cron}", json={"enabled": False}),
        rest_refused,
    ),
    "rest cron of her assistant": (
        lambda c, a: c.post(
            "/runs/crons", json={"assistant_id": a.assistant, "schedule": "0 0 1 1 *"}
        ),
        rest_refused,
    ),
    "rest cron on her thread": (
        lambda c, a: c.post(
            f"/threads/{a.thread}/runs/crons",
            json={"assistant_id": "agent", "schedule": "0 0 1 1 *"},
        ),
        rest_refused,
    ),
    "rest store read": (
        lambda c, a: c.get("/store/items", params={"namespace": "alice", "key": "k"}),
        refused_or_absent,
    ),
    "rest store list": (
        lambda c, a: c.post("/store/items/search", json={"namespace_prefix": ["alice"]}),
        refused_or_absent,
    ),
    "rest store write": (
        lambda c, a: c.put(
            "/store/items", json={"namespace": ["alice"], "key": "k", "value": {"v": "bob's"}}
        ),
        refused_or_absent,
    ),
    "rest store delete": (
        lambda c, a: c.request("DELETE", "/store/items", json={"namespace": ["alice"], "key": "k"}),
        refused_or_absent,
    ),
    # /v1
    "v1 models list": (lambda c, a: c.get("/v1/models"), absent),
    "v1 model read": (lambda c, a: c.get(f"/v1/models/{a.assistant}"), openai_refused),
    "v1 run her assistant": (
        lambda c, a: c.post("/v1/chat/completions", json=chat(a.assistant)),
        openai_refused,
    ),
    "v1 run her thread by header": (
        lambda c, a: c.post(
            "/v1/chat/completions", json=chat("agent"), headers={"X-Thread-Id": a.thread}
        ),
        openai_refused,
    ),
    "v1 run her thread by metadata": (
        lambda c, a: c.post(
            "/v1/chat/completions", json=chat("agent", metadata={"thread_id": a.thread})
        ),
        openai_refused,
    ),
    "v1 stream her thread": (
        lambda c, a: c.post(
            "/v1/chat/completions",
            json=chat("agent", stream=True),
            headers={"X-Thread-Id": a.thread},
        ),
        openai_refused,
    ),
    "v1 responses her assistant": (
        lambda c, a: c.post("/v1/responses", json={"model": a.assistant, "input": "hi"}),
        openai_refused,
    ),
    "v1 responses her response": (
        lambda c, a: c.post(
            "/v1/responses",
            json={
                "model": "agent",
                "input": "hi",
                "previous_response_id": f"resp_{uuid.UUID(a.thread).hex}{uuid.UUID(a.run).hex}",
            },
        ),
        openai_refused,
    ),
    # MCP
    "mcp tools list": (
        lambda c, a: c.post("/mcp", json=rpc("tools/list", {}), headers=MCP_HEADERS),
        absent,
    ),
    "mcp run her assistant": (
        lambda c, a: c.post(
            "/mcp",
            json=rpc("tools/call", {"name": "alice-private", "arguments": {"messages": "hi"}}),
            headers=MCP_HEADERS,
        ),
        rpc_refused,
    ),
    # A2A
    "a2a card": (
        lambda c, a: c.get(f"/a2a/{a.assistant}/.well-known/agent-card.json"),
        rest_refused,
    ),
    "a2a card by query": (
        lambda c, a: c.get("/.well-known/agent-card.json", params={"assistant_id": a.assistant}),
        rest_refused,
    ),
    "a2a run her assistant": (
        lambda c, a: c.post(f"/a2a/{a.assistant}", json=rpc("SendMessage", message())),
        rpc_refused,
    ),
    "a2a run her context": (
        lambda c, a: c.post("/a2a/agent", json=rpc("SendMessage", message(contextId=a.thread))),
        rpc_refused,
    ),
    "a2a stream her context": (
        lambda c, a: c.post(
            "/a2a/agent", json=rpc("SendStreamingMessage", message(contextId=a.thread))
        ),
        rpc_refused,
    ),
    "a2a read her task": (
        lambda c, a: c.post("/a2a/agent", json=rpc("GetTask", {"id": f"{a.thread}:{a.run}"})),
        rpc_refused,
    ),
    "a2a cancel her task": (
        lambda c, a: c.post("/a2a/agent", json=rpc("CancelTask", {"id": f"{a.thread}:{a.run}"})),
        rpc_refused,
    ),
    # Thread commands and the thread's event stream
    "command run": (
        lambda c, a: c.post(
            f"/threads/{a.thread}/commands",
            json={
                "id": 1,
                "method": "run.start",
                "params": {"assistant_id": "agent", "input": ASK},
            },
        ),
        rest_refused,
    ),
    "command respond": (
        lambda c, a: c.post(
            f"/threads/{a.thread}/commands",
            json={
                "id": 1,
                "method": "input.respond",
                "params": {"interrupt_id": "x", "response": 1},
            },
        ),
        rest_refused,
    ),
    "command cancel": (
        lambda c, a: c.post(
            f"/threads/{a.thread}/commands", json={"id": 1, "method": "run.cancel", "params": {}}
        ),
        rest_refused,
    ),
    "thread events": (
        lambda c, a: c.post(f"/threads/{a.thread}/stream/events", json={"channels": ["values"]}),
        rest_refused,
    ),
}
