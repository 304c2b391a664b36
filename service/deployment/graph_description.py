"""The served graph described as JSON: its drawing (nodes and edges) and its schemas.

The shapes are those of LangGraph Server's `/assistants/{id}/graph`, `/schemas` and
`/subgraphs`, which LangGraph Studio draws and builds its forms from.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable
from typing import Any

from langchain_core.runnables.utils import create_model
from langgraph.pregel import Pregel
from pydantic import TypeAdapter

logger = logging.getLogger(__name__)

# Keys of `configurable` the server fills in, which no configuration form should offer.
_SERVER_CONFIGURABLE = (
    "__pregel_checkpointer",
    "__pregel_store",
    "checkpoint_id",
    "checkpoint_ns",
    "thread_id",
)


def graph_drawing(graph: Pregel, xray: bool | int = False) -> dict[str, Any]:
    """Nodes and edges; with `xray`, subgraphs are drawn inside their nodes (to that depth)."""
    drawing = graph.get_graph(xray=xray).to_json()
    for node in drawing.get("nodes", []):
        # The Python class path of each node says nothing to a client; LangGraph Server drops it.
        if isinstance(data := node.get("data"), dict):
            data.pop("id", None)
    return drawing


def graph_schemas(graph: Pregel) -> dict[str, Any]:
    """JSON schemas of the graph's input, output, state, configuration and context; one that
    cannot be built (a `typing.TypedDict` on Python < 3.12, an `@entrypoint`'s untyped input)
    is None, with a warning, and the others are still given, as LangGraph Server gives them."""
    builders: dict[str, Callable[[], Any]] = {
        "input_schema": graph.get_input_jsonschema,
        "output_schema": graph.get_output_jsonschema,
        "state_schema": lambda: _state_schema(graph),
        "config_schema": lambda: _configurable_schema(graph),
        "context_schema": graph.get_context_jsonschema,
    }
    return {name: _built(graph, name, build) for name, build in builders.items()}


def _built(graph: Pregel, name: str, build: Callable[[], Any]) -> Any:
    try:
        return build()
    except Exception as exc:
        logger.warning("graph %s: no %s: %s", graph.get_name(), name, str(exc).splitlines()[0])
        return None


def _configurable_schema(graph: Pregel) -> dict[str, Any]:
    """The `configurable` part of the graph's config schema (a `context_schema`'s fields too,
    which UIs build their configuration form from), without the keys the server sets."""
    with warnings.catch_warnings():  # deprecated for get_context_jsonschema, which lacks it
        warnings.simplefilter("ignore", DeprecationWarning)
        fields = graph.config_schema().model_fields  # type: ignore[attr-defined]
    if "configurable" not in fields:
        return {}
    schema = TypeAdapter(fields["configurable"].annotation).json_schema()
    for key in _SERVER_CONFIGURABLE:
        schema.get("properties", {}).pop(key, None)
    return schema


def subgraph_schemas(
    graph: Pregel, namespace: str | None = None, recurse: bool = False
) -> dict[str, Any]:
    """The schemas of each subgraph, by namespace."""
    return {
        name: graph_schemas(subgraph)
        for name, subgraph in graph.get_subgraphs(namespace=namespace, recurse=recurse)
    }


def _state_schema(graph: Pregel) -> dict[str, Any]:
    fields = {
        key: (_describable(graph.channels[key].UpdateType), None)
        for key in graph.stream_channels_list
    }
    return create_model(graph.get_name("State"), **fields).model_json_schema()


def _describable(kind: Any) -> Any:
    """`kind`, or `Any` when pydantic cannot describe it (the state still has the key)."""
    try:
        TypeAdapter(kind).json_schema()
    except Exception:
        return Any
    return kind
