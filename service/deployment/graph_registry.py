"""The served graphs, by graph id, each ready to run with the server's checkpointer and store.

A graph is given as a `langgraph.json` entry names it (see `service.deployment.config`): a
compiled graph, an uncompiled `StateGraph`, or a factory (sync or async; taking nothing or the
run's `RunnableConfig`; returning a graph, a coroutine of one, or a context manager that yields
one). As in LangGraph Server, a factory is called for every use (a run, a state read, a
drawing) with that use's config, and whatever graph it makes is served under the server's
checkpointer and store: a graph that brings its own gets a warning, and the server's instead.

Example:
    >>> registry = GraphRegistry({"agent": agent, "counter": make_counter}, saver, store)
    >>> async with registry.open("counter", config) as graph:
    ...     await graph.ainvoke(inputs, config)
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import StateGraph
from langgraph.pregel import Pregel
from langgraph.store.base import BaseStore

from threadloom.service.deployment.object_import import ImportFailed, import_object, one_line
from threadloom.service.errors import ConfigurationError, NotFound

logger = logging.getLogger(__name__)

GraphValue = Pregel | StateGraph | Callable[..., Any]
# LangGraph's default name for a graph compiled without one; served under its graph id instead.
UNNAMED = "LangGraph"


class GraphRegistry:
    """Every graph the server serves; the first is the default for threads never run."""

    def __init__(
        self,
        graphs: Mapping[str, GraphValue],
        checkpointer: BaseCheckpointSaver,
        store: BaseStore,
    ) -> None:
        if not graphs:
            raise ConfigurationError('no graph to serve: the config\'s "graphs" is empty')
        self._checkpointer = checkpointer
        self._store = store
        self._warned: set[str] = set()
        self._graphs = {
            graph_id: _ServedGraph.of(graph_id, value, self._serve)
            for graph_id, value in graphs.items()
        }

    @property
    def graph_ids(self) -> list[str]:
        return list(self._graphs)

    @asynccontextmanager
    async def open(
        self, graph_id: str | None, config: RunnableConfig | None = None
    ) -> AsyncIterator[Pregel]:
        """The graph `graph_id` names (None: the default one), made for `config` if it is a
        factory; 404 for a graph this server does not serve."""
        if graph_id is None:
            graph_id = self.graph_ids[0]
        served = self._graphs.get(graph_id)
        if served is None:
            raise NotFound(f"Graph '{graph_id}' not found. Expected one of: {self.graph_ids}")
        async with served.open(config or {}) as graph:
            yield graph

    def _serve(self, graph_id: str, graph: Any) -> Pregel:
        """`graph` compiled or copied with the server's checkpointer and store."""
        if isinstance(graph, StateGraph):
            return graph.compile(checkpointer=self._checkpointer, store=self._store, name=graph_id)
        if not isinstance(graph, Pregel):
            raise TypeError(
                f"Graph '{graph_id}' is a {type(graph).__name__}, not a graph: a factory must "
                "return a compiled graph or a StateGraph"
            )
        self._warn_if_it_brings_its_own(graph_id, graph)
        update: dict[str, Any] = {"checkpointer": self._checkpointer, "store": self._store}
        if graph.name == UNNAMED:
            update["name"] = graph_id
        return graph.copy(update=update)

    def _warn_if_it_brings_its_own(self, graph_id: str, graph: Pregel) -> None:
        own = [
            f"{what} ({type(value).__name__})"
            for what, value in (("checkpointer", graph.checkpointer), ("store", graph.store))
            if isinstance(value, BaseCheckpointSaver | BaseStore)
        ]
        if own and graph_id not in self._warned:
            self._warned.add(graph_id)
            logger.warning(
                "graph %r brings its own %s: the server's are used instead (persistence is "
                "the server's job)",
                graph_id,
                " and ".join(own),
            )


class _ServedGraph:
    """One graph: compiled once, or a factory called per use."""

    def __init__(
        self,
        graph_id: str,
        ready: Pregel | None,
        factory: Callable[..., Any] | None,
        takes_config: bool,
        serve: Callable[[str, Any], Pregel],
    ) -> None:
        self.graph_id = graph_id
        self._ready = ready
        self._factory = factory
        self._takes_config = takes_config
        self._serve = serve

    @classmethod
    def of(
        cls, graph_id: str, value: GraphValue, serve: Callable[[str, Any], Pregel]
    ) -> _ServedGraph:
        if isinstance(value, Pregel | StateGraph):
            return cls(graph_id, serve(graph_id, value), None, False, serve)
        if callable(value):
            return cls(graph_id, None, value, _takes_config(graph_id, value), serve)
        raise ConfigurationError(
            f"graph '{graph_id}': {type(value).__name__} is neither a graph nor a factory"
        )

    @asynccontextmanager
    async def open(self, config: RunnableConfig) -> AsyncIterator[Pregel]:
        if self._ready is not None:
            yield self._ready
            return
        assert self._factory is not None
        made = self._factory(config) if self._takes_config else self._factory()
        if hasattr(made, "__aenter__"):
            async with made as graph:
                yield self._serve(self.graph_id, graph)
        elif hasattr(made, "__enter__"):
            with made as graph:
                yield self._serve(self.graph_id, graph)
        else:
            if inspect.isawaitable(made):
                made = await made
            yield self._serve(self.graph_id, made)


def _takes_config(graph_id: str, factory: Callable[..., Any]) -> bool:
    """Whether the factory takes the run's config (one parameter) or nothing."""
    try:
        parameters = [
            parameter
            for parameter in inspect.signature(factory).parameters.values()
            if parameter.default is inspect.Parameter.empty
            and parameter.kind not in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD)
        ]
    except (TypeError, ValueError):  # a builtin without a signature: call it with nothing
        return False
    if len(parameters) > 1 or any(
        "ServerRuntime" in str(parameter.annotation) for parameter in parameters
    ):
        raise ConfigurationError(
            f"graph '{graph_id}': a graph factory takes nothing or the run's config, not "
            f"{', '.join(str(parameter) for parameter in parameters)}"
        )
    return len(parameters) == 1


def import_graphs(sources: Mapping[str, str]) -> dict[str, GraphValue]:
    """Import each graph of the deployment file; the first that fails is a ConfigurationError
    naming the graph and the cause, on one line."""
    graphs: dict[str, GraphValue] = {}
    for graph_id, source in sources.items():
        try:
            value = import_object(source)
        except ImportFailed as exc:
            raise ConfigurationError(f"graph '{graph_id}' ({source}): {exc}") from exc
        except Exception as exc:
            raise ConfigurationError(f"graph '{graph_id}' ({source}): {one_line(exc)}") from exc
        if not isinstance(value, Pregel | StateGraph):
            if not callable(value):
                raise ConfigurationError(
                    f"graph '{graph_id}' ({source}): {type(value).__name__} is neither a graph "
                    "nor a factory"
                )
            _takes_config(graph_id, value)  # refuses, at start-up, a factory it cannot call
        graphs[graph_id] = value
    return graphs
