"""`langgraph_sdk.get_client()` with no URL inside a served graph reaches the same server in
process (`service.http.in_process`), acting as the run that calls it; a failing graph is logged
with its message and traceback."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import httpx
import pytest
from langchain_core.runnables import RunnableConfig
from langgraph.graph import StateGraph
from langgraph_sdk import get_client
from typing_extensions import TypedDict

from tests.service.live_server import StartServer
from threadloom.service.http.in_process import NotServing, install_sdk_loopback


class State(TypedDict, total=False):
    text: str
    seen: Any


def _graph(node: Any) -> Any:
    builder = StateGraph(State)
    builder.add_node("node", node)
    builder.set_entry_point("node")
    return builder.compile()


def echo(state: State) -> State:
    return {"seen": state["text"].upper()}


async def waits_on_echo(state: State) -> State:
    client = get_client()  # no url: this server, in process
    result = await client.runs.wait(None, "echo", input={"text": state["text"]})
    return {"seen": result["seen"]}


async def streams_echo(state: State) -> State:
    client = get_client()
    events = [
        part.event
        async for part in client.runs.stream(
            None, "echo", input={"text": state["text"]}, stream_mode="values"
        )
    ]
    return {"seen": events}


async def enqueues_echo(state: State, config: RunnableConfig) -> State:
    """memory-template's shape: another run on this run's own thread, after this one."""
    client = get_client()
    thread_id = config["configurable"]["thread_id"]
    await client.threads.update(thread_id, metadata={"made_by": "caller"})
    run = await client.runs.create(
        thread_id, "echo", input={"text": state["text"]}, multitask_strategy="enqueue"
    )
    return {"seen": {"thread_id": thread_id, "run_id": run["run_id"]}}


async def searches_threads(state: State) -> State:
    threads = await get_client().threads.search(limit=100)
    return {"seen": sorted({thread["metadata"].get("owner") for thread in threads} - {None})}


def broken(state: State) -> State:
    raise TypeError("the graph's own bug: 'NoneType' object is not callable")


GRAPHS = {
    "echo": _graph(echo),
    "waits": _graph(waits_on_echo),
    "streams": _graph(streams_echo),
    "enqueues": _graph(enqueues_echo),
    "searches": _graph(searches_threads),
    "broken": _graph(broken),
}


async def _wait(url: str, graph: str, text: str, **client: Any) -> Any:
    async with get_client(url=url, **client) as sdk:
        return await sdk.runs.wait(None, graph, input={"text": text}, raise_error=False)


async def test_a_graph_waits_on_and_streams_another_run_of_its_own_server(
    start: StartServer,
) -> None:
    server = await start(graphs=GRAPHS)
    assert (await _wait(server.url, "waits", "hi"))["seen"] == "HI"
    seen = (await _wait(server.url, "streams", "hi"))["seen"]
    assert seen[0] == "metadata" and seen.count("values") >= 2, seen


async def test_runs_a_graph_enqueues_run_and_belong_to_the_callers_owner(
    start: StartServer,
) -> None:
    server = await start(graphs=GRAPHS, api_keys="alice:a-key,bob:b-key")
    async with get_client(url=server.url, api_key="a-key") as alice:
        thread_id = (await alice.threads.create())["thread_id"]
        made = await alice.runs.wait(thread_id, "enqueues", input={"text": "later"})
        ended = await alice.runs.join(thread_id, made["seen"]["run_id"])
        assert ended["seen"] == "LATER"
        thread = await alice.threads.get(thread_id)
        assert thread["metadata"]["made_by"] == "caller" and thread["status"] == "idle"
        # A run of its own, checkpointed on the thread (not as a subgraph of the caller).
        state = await alice.threads.get_state(thread_id)
        assert state["values"] == {"text": "later", "seen": "LATER"}
    async with httpx.AsyncClient(base_url=server.url, headers={"x-api-key": "b-key"}) as bob:
        assert (await bob.get(f"/threads/{thread_id}")).status_code == 404


POLICY = """
from langgraph_sdk import Auth

auth = Auth()


@auth.authenticate
async def authenticate(authorization: str | None) -> str:
    return (authorization or "").removeprefix("Bearer ")


@auth.on.threads
async def own_threads(ctx, value):
    if value.get("metadata") is None:
        value["metadata"] = {}
    value["metadata"]["owner"] = ctx.user.identity
    return {"owner": ctx.user.identity}
"""


async def test_under_an_auth_policy_the_graph_acts_as_the_runs_user(
    start: StartServer, tmp_path: Path
) -> None:
    (tmp_path / "policy.py").write_text(POLICY)
    server = await start(graphs=GRAPHS, auth_path=f"{tmp_path / 'policy.py'}:auth")
    for user in ("alice", "bob"):
        async with get_client(url=server.url, headers={"Authorization": user}) as sdk:
            await sdk.threads.create()
    async with get_client(url=server.url, headers={"Authorization": "alice"}) as alice:
        thread_id = (await alice.threads.create())["thread_id"]
        result = await alice.runs.wait(thread_id, "searches", input={"text": "x"})
    assert result["seen"] == ["alice"]


async def test_a_failing_graph_is_logged_with_its_message_and_traceback(
    start: StartServer, caplog: pytest.LogCaptureFixture
) -> None:
    server = await start(graphs=GRAPHS)
    with caplog.at_level(logging.WARNING, logger="threadloom.service.runs.executor"):
        result = await _wait(server.url, "broken", "x")
    assert result["__error__"]["error"] == "TypeError"
    [record] = [r for r in caplog.records if r.getMessage().startswith("run failed")]
    assert "the graph's own bug" in record.getMessage()
    assert record.exc_info is not None and record.exc_info[0] is TypeError


async def test_outside_a_served_graph_the_client_says_to_pass_a_url() -> None:
    install_sdk_loopback()
    with pytest.raises(NotServing, match="pass url="):
        await get_client().assistants.search()
