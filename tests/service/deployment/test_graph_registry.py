"""The graph registry: each kind of `graphs` entry served with the server's checkpointer and store,
factories called per use with that use's config, as LangGraph Server calls them."""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import pytest
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import StateGraph
from langgraph.pregel import Pregel
from langgraph.store.memory import InMemoryStore
from langgraph_sdk.runtime import ServerRuntime
from typing_extensions import TypedDict

from threadloom.service.deployment.graph_registry import GraphRegistry
from threadloom.service.errors import ConfigurationError, NotFound


class State(TypedDict, total=False):
    n: int
    tag: str


def builder(tag: str = "plain") -> StateGraph:
    graph = StateGraph(State)
    graph.add_node("step", lambda state: {"n": state.get("n", 0) + 1, "tag": tag})
    graph.set_entry_point("step")
    return graph


@pytest.fixture
def saver() -> InMemorySaver:
    return InMemorySaver()


@pytest.fixture
def store() -> InMemoryStore:
    return InMemoryStore()


async def run(registry: GraphRegistry, graph_id: str, config: RunnableConfig) -> Any:
    async with registry.open(graph_id, config) as graph:
        return await graph.ainvoke({"n": 1}, config)


def thread(name: str, **configurable: Any) -> RunnableConfig:
    return {"configurable": {"thread_id": name, **configurable}}


async def test_compiled_and_uncompiled_graphs_get_the_servers_persistence(
    saver: InMemorySaver, store: InMemoryStore
) -> None:
    named = builder().compile(name="mine")
    registry = GraphRegistry(
        {"compiled": builder().compile(), "named": named, "uncompiled": builder()}, saver, store
    )
    assert registry.graph_ids == ["compiled", "named", "uncompiled"]
    for graph_id, name in (
        ("compiled", "compiled"),
        ("named", "mine"),
        ("uncompiled", "uncompiled"),
    ):
        async with registry.open(graph_id) as graph:
            assert (graph.checkpointer, graph.store, graph.name) == (saver, store, name)
        assert await run(registry, graph_id, thread(graph_id)) == {"n": 2, "tag": "plain"}
        assert saver.get_tuple(thread(graph_id)) is not None  # the server's saver has it
    async with registry.open(None) as default:
        assert default.name == "compiled"
    assert named.checkpointer is None  # the user's object is left as it was


async def test_factories_of_every_kind_are_called_per_use_with_its_config(
    saver: InMemorySaver, store: InMemoryStore
) -> None:
    calls: list[Any] = []

    def no_arguments() -> Pregel:
        calls.append("none")
        return builder("none").compile()

    def with_config(config: RunnableConfig) -> StateGraph:
        calls.append(config["configurable"]["tag"])
        return builder(config["configurable"]["tag"])

    async def asynchronous(config: RunnableConfig) -> Pregel:
        calls.append("async")
        return builder("async").compile()

    @contextmanager
    def sync_context(config: RunnableConfig) -> Iterator[Pregel]:
        calls.append("enter")
        yield builder("sync-cm").compile()
        calls.append("exit")

    @asynccontextmanager
    async def async_context() -> AsyncIterator[Pregel]:
        calls.append("aenter")
        yield builder("async-cm").compile()
        calls.append("aexit")

    registry = GraphRegistry(
        {
            "none": no_arguments,
            "config": with_config,
            "async": asynchronous,
            "sync_cm": sync_context,
            "async_cm": async_context,
        },
        saver,
        store,
    )
    assert calls == []  # nothing is made before it is used
    assert (await run(registry, "none", thread("a")))["tag"] == "none"
    assert (await run(registry, "config", thread("b", tag="first")))["tag"] == "first"
    assert (await run(registry, "config", thread("c", tag="second")))["tag"] == "second"
    assert (await run(registry, "async", thread("d")))["tag"] == "async"
    assert (await run(registry, "sync_cm", thread("e")))["tag"] == "sync-cm"
    assert (await run(registry, "async_cm", thread("f")))["tag"] == "async-cm"
    assert calls == ["none", "first", "second", "async", "enter", "exit", "aenter", "aexit"]
    async with registry.open("config", thread("g", tag="t")) as graph:
        assert (graph.checkpointer, graph.store, graph.name) == (saver, store, "config")


async def test_a_graph_bringing_its_own_persistence_gets_a_warning_and_the_servers(
    saver: InMemorySaver, store: InMemoryStore, caplog: pytest.LogCaptureFixture
) -> None:
    own_saver = InMemorySaver()
    own = builder().compile(checkpointer=own_saver, store=InMemoryStore())
    with caplog.at_level(logging.WARNING):
        registry = GraphRegistry({"own": own, "factory": lambda: own}, saver, store)
        for _ in range(2):
            await run(registry, "factory", thread("x"))
    assert await run(registry, "own", thread("y")) == {"n": 2, "tag": "plain"}
    assert own_saver.get_tuple(thread("y")) is None and saver.get_tuple(thread("y")) is not None
    warnings = [record.getMessage() for record in caplog.records]
    assert len(warnings) == 2  # once per graph
    assert all("brings its own checkpointer (InMemorySaver) and store" in w for w in warnings)


async def test_what_cannot_be_served_is_refused(saver: InMemorySaver, store: InMemoryStore) -> None:
    with pytest.raises(ConfigurationError, match="neither a graph nor a factory"):
        GraphRegistry({"n": 42}, saver, store)
    with pytest.raises(ConfigurationError, match="takes nothing or the run's config"):
        GraphRegistry({"f": lambda a, b: None}, saver, store)

    def with_runtime(runtime: ServerRuntime) -> Pregel:  # LangGraph's other form: not served
        raise AssertionError("never called")

    with pytest.raises(ConfigurationError, match=r"not runtime: .?ServerRuntime"):
        GraphRegistry({"f": with_runtime}, saver, store)
    with pytest.raises(ConfigurationError, match="no graph to serve"):
        GraphRegistry({}, saver, store)
    registry = GraphRegistry({"bad": lambda: "not a graph"}, saver, store)
    with pytest.raises(TypeError, match="Graph 'bad' is a str, not a graph"):
        await run(registry, "bad", thread("z"))
    with pytest.raises(
        NotFound, match=re.escape("Graph 'nope' not found. Expected one of: ['bad']")
    ):
        await run(registry, "nope", thread("z"))
