"""One table of probes, every front against one core: bob, under a custom auth policy (owner-only,
as the README's auth section writes it) and under API keys, reaches for alice's thread, run,
assistant, cron and store item through REST, `/v1`, `/mcp`, A2A and thread commands (read, list,
write, run, stream, cancel). Each probe must be refused (or, for a list, show nothing of hers) in
its front's own error shape, and alice's data must be unchanged afterwards. Threads that bob
creates through any front carry his owner: his to read, not hers."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.service.threaded_server import threaded_server

OWNER_ONLY = """
from langgraph_sdk import Auth

auth = Auth()
USERS = {"token-alice": "alice", "token-bob": "bob"}


@auth.authenticate
async def authenticate(authorization: str | None) -> str:
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or token not in USERS:
        raise Auth.exceptions.HTTPException(status_code=401, detail="Invalid or missing token")
    return USERS[token]


@auth.on
async def owner_only(ctx: Auth.types.AuthContext, value: dict):
    filters = {"owner": ctx.user.identity}
    metadata = value.setdefault("metadata", {})
    metadata.update(filters)
    return filters


@auth.on.store()
async def own_namespace(ctx: Auth.types.AuthContext, value: dict):
    namespace = value["namespace"]
    assert namespace and namespace[0] == ctx.user.identity, "Not your namespace"
"""
# The same bearer tokens name alice and bob under both schemes.
MODES = {
    "policy": lambda tmp: {"auth_path": _policy_file(tmp)},
    "api_keys": lambda tmp: {"api_keys": "alice:token-alice,bob:token-bob"},
}
MCP_HEADERS = {"Accept": "application/json, text/event-stream"}
ASK = {"messages": [{"role": "user", "content": "hello"}]}


def _policy_file(tmp: Path) -> str:
    path = tmp / "owner_only.py"
    path.write_text(OWNER_ONLY)
    return f"{path}:auth"


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


@dataclass
class World:
    alice_client: httpx.Client
    bob_client: httpx.Client
    alice: Alice


def _client(url: str, token: str) -> httpx.Client:
    return httpx.Client(base_url=url, timeout=30, headers={"Authorization": f"Bearer {token}"})


def _ok(response: httpx.Response) -> Any:
    assert response.status_code in (200, 201, 204), (response.status_code, response.text[:300])
    return response.json() if response.content else None


def _alices_world(http: httpx.Client) -> Alice:
    thread = _ok(http.post("/threads", json={}))["thread_id"]
    _ok(http.post(f"/threads/{thread}/runs/wait", json={"assistant_id": "agent", "input": ASK}))
    run = _ok(http.get(f"/threads/{thread}/runs"))[0]["run_id"]
    assistant = _ok(
        http.post(
            "/assistants",
            json={"graph_id": "agent", "name": "alice-private", "description": "hers alone"},
        )
    )["assistant_id"]
    cron = _ok(http.post("/runs/crons", json={"assistant_id": assistant, "schedule": "0 0 1 1 *"}))[
        "cron_id"
    ]
    item = {"namespace": ["alice"], "key": "k", "value": {"v": "secret-value"}}
    _ok(http.put("/store/items", json=item))
    return Alice(thread, run, assistant, cron)


def snapshot(http: httpx.Client, alice: Alice) -> list[Any]:
    """Everything of alice's that a probe could change, as she reads it."""
    return [
        _ok(http.get(f"/threads/{alice.thread}")),
        _ok(http.get(f"/threads/{alice.thread}/state"))["values"],
        _ok(http.get(f"/threads/{alice.thread}/runs")),
        _ok(http.get(f"/assistants/{alice.assistant}")),
        _ok(http.get(f"/runs/crons/{alice.cron}")),
        _ok(http.get("/store/items", params={"namespace": "alice", "key": "k"})),
    ]


@pytest.fixture(scope="module", params=list(MODES))
def world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[World]:
    tmp = tmp_path_factory.mktemp(request.param)
    with (
        threaded_server(tmp / "threadloom.sqlite", **MODES[request.param](tmp)) as url,
        _client(url, "token-alice") as alice_client,
        _client(url, "token-bob") as bob_client,
    ):
        yield World(alice_client, bob_client, _alices_world(alice_client))


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


def _rpc(method: str, params: dict[str, Any]) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": 1, "method": method, "params": params}


def _message(**ids: str) -> dict[str, Any]:
    return {
        "message": {
            "messageId": str(uuid.uuid4()),
            "role": "user",
            "parts": [{"text": "hi"}],
            **ids,
        }
    }


def _chat(model: str, **extra: Any) -> dict[str, Any]:
    return {"model": model, "messages": [{"role": "user", "content": "hi"}], **extra}


def _run(assistant: str) -> dict[str, Any]:
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
        lambda c, a: c.post(f"/threads/{a.thread}/runs/wait", json=_run("agent")),
        rest_refused,
    ),
    "rest stream": (
        lambda c, a: c.post(f"/threads/{a.thread}/runs/stream", json=_run("agent")),
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
    "rest assistant run": (lambda c, a: c.post("/runs/wait", json=_run(a.assistant)), rest_refused),
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
        lambda c, a: c.post("/v1/chat/completions", json=_chat(a.assistant)),
        openai_refused,
    ),
    "v1 run her thread by header": (
        lambda c, a: c.post(
            "/v1/chat/completions", json=_chat("agent"), headers={"X-Thread-Id": a.thread}
        ),
        openai_refused,
    ),
    "v1 run her thread by metadata": (
        lambda c, a: c.post(
            "/v1/chat/completions", json=_chat("agent", metadata={"thread_id": a.thread})
        ),
        openai_refused,
    ),
    "v1 stream her thread": (
        lambda c, a: c.post(
            "/v1/chat/completions",
            json=_chat("agent", stream=True),
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
        lambda c, a: c.post("/mcp", json=_rpc("tools/list", {}), headers=MCP_HEADERS),
        absent,
    ),
    "mcp run her assistant": (
        lambda c, a: c.post(
            "/mcp",
            json=_rpc("tools/call", {"name": "alice-private", "arguments": {"messages": "hi"}}),
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
        lambda c, a: c.post(f"/a2a/{a.assistant}", json=_rpc("SendMessage", _message())),
        rpc_refused,
    ),
    "a2a run her context": (
        lambda c, a: c.post("/a2a/agent", json=_rpc("SendMessage", _message(contextId=a.thread))),
        rpc_refused,
    ),
    "a2a stream her context": (
        lambda c, a: c.post(
            "/a2a/agent", json=_rpc("SendStreamingMessage", _message(contextId=a.thread))
        ),
        rpc_refused,
    ),
    "a2a read her task": (
        lambda c, a: c.post("/a2a/agent", json=_rpc("GetTask", {"id": f"{a.thread}:{a.run}"})),
        rpc_refused,
    ),
    "a2a cancel her task": (
        lambda c, a: c.post("/a2a/agent", json=_rpc("CancelTask", {"id": f"{a.thread}:{a.run}"})),
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


def test_every_front_refuses_another_users_data_and_leaves_it_unchanged(world: World) -> None:
    alice, bob = world.alice, world.bob_client
    before = snapshot(world.alice_client, alice)
    failures = []
    for name, (probe, verdict) in PROBES.items():
        try:
            verdict(probe(bob, alice), alice)
        except AssertionError as exc:
            failures.append(f"{name}: {exc}")
    assert not failures, "\n".join(failures)
    assert snapshot(world.alice_client, alice) == before


def test_threads_created_through_any_front_carry_their_maker(world: World) -> None:
    alice, bob = world.alice_client, world.bob_client
    by_header = str(uuid.uuid4())
    _ok(bob.post("/v1/chat/completions", json=_chat("agent"), headers={"X-Thread-Id": by_header}))
    by_metadata = str(uuid.uuid4())
    _ok(bob.post("/v1/chat/completions", json=_chat("agent", metadata={"thread_id": by_metadata})))
    a2a = _ok(bob.post("/a2a/agent", json=_rpc("SendMessage", _message())))
    by_a2a = a2a["result"]["task"]["contextId"]
    by_command = str(uuid.uuid4())
    command = {"id": 1, "method": "run.start", "params": {"assistant_id": "agent", "input": ASK}}
    _ok(bob.post(f"/threads/{by_command}/commands", json=command))
    for thread in (by_header, by_metadata, by_a2a, by_command):
        assert bob.get(f"/threads/{thread}").status_code == 200, thread
        assert alice.get(f"/threads/{thread}").status_code == 404, thread
        # ...and alice cannot write to it through /v1 either.
        taken = alice.post(
            "/v1/chat/completions", json=_chat("agent"), headers={"X-Thread-Id": thread}
        )
        assert taken.status_code == 404, taken.text
