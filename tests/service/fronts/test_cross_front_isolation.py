"""One table of probes, every front against one core: bob, under a custom auth policy (owner-only,
as the README's auth section writes it) and under API keys, reaches for alice's thread, run,
assistant, cron and store item through REST, `/v1`, `/mcp`, A2A and thread commands (read, list,
write, run, stream, cancel). Each probe must be refused (or, for a list, show nothing of hers) in
its front's own error shape, and alice's data must be unchanged afterwards. Threads that bob
creates through any front carry his owner: his to read, not hers."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.service.auth_policies import OWNER_ONLY
from tests.service.front_probes import ASK, PROBES, Alice, chat, message, rpc
from tests.service.threaded_server import threaded_server

# The same bearer tokens name alice and bob under both schemes.
MODES = {
    "policy": lambda tmp: {"auth_path": _policy_file(tmp)},
    "api_keys": lambda tmp: {"api_keys": "alice:token-alice,bob:token-bob"},
}


def _policy_file(tmp: Path) -> str:
    path = tmp / "owner_only.py"
    path.write_text(OWNER_ONLY)
    return f"{path}:auth"


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
    _ok(bob.post("/v1/chat/completions", json=chat("agent"), headers={"X-Thread-Id": by_header}))
    by_metadata = str(uuid.uuid4())
    _ok(bob.post("/v1/chat/completions", json=chat("agent", metadata={"thread_id": by_metadata})))
    a2a = _ok(bob.post("/a2a/agent", json=rpc("SendMessage", message())))
    by_a2a = a2a["result"]["task"]["contextId"]
    by_command = str(uuid.uuid4())
    command = {"id": 1, "method": "run.start", "params": {"assistant_id": "agent", "input": ASK}}
    _ok(bob.post(f"/threads/{by_command}/commands", json=command))
    for thread in (by_header, by_metadata, by_a2a, by_command):
        assert bob.get(f"/threads/{thread}").status_code == 200, thread
        assert alice.get(f"/threads/{thread}").status_code == 404, thread
        # ...and alice cannot write to it through /v1 either.
        taken = alice.post(
            "/v1/chat/completions", json=chat("agent"), headers={"X-Thread-Id": thread}
        )
        assert taken.status_code == 404, taken.text
