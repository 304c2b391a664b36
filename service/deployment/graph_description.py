"""The served graph described as JSON: its drawing (nodes and edges) and its schemas.

The shapes are those of LangGraph Server's `/assistants/{id}/graph`, `/schemas` and
`/subgraphs`, which LangGraph Studio draws and builds its forms from.
"""

from __future__ import annotations

from typing import Any

from langgraph.pregel import Pregel
from pydantic import TypeAdapter, create_model


def graph_drawing(graph: Pregel, xray: bool | int = False) -> dict[str, Any]:
    """Nodes and edges; with `xray`, subgraphs are drawn inside their nodes (to that depth)."""
    drawing = graph.get_graph(xray=xray).to_json()
    for node in drawing.get("nodes", []):
        # The Python class path of each node says nothing to a client; LangGraph Server drops it.
        if isinstance(data := node.get("data"), dict):
            data.pop("id", None)
    return drawing


def graph_schemas(graph: Pregel) -> dict[str, Any]:
    """JSON schemas of the graph's input, output, state, configuration and context."""
    return {
        "input_schema": graph.get_input_jsonschema(),
        "output_schema": graph.get_output_jsonschema(),
        "state_schema": _state_schema(graph),
        # Graphs declare what they read through `context_schema` now; `config_schema` is the
        # older form, which this graph does not use.
        "config_schema": {},
        "context_schema": graph.get_context_jsonschema(),
    }


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
