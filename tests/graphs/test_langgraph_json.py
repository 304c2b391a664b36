"""Every entry of the repository's `langgraph.json` loads the way `langgraph dev` loads it (a
file path and an attribute), and the graphs of one process share one loaded model."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

import pytest
from langgraph.pregel import Pregel

import threadloom.models.configured as configured

REPO = Path(__file__).resolve().parents[2]


def _load(entry: str) -> Any:
    path, attribute = entry.split(":")
    spec = importlib.util.spec_from_file_location(f"langgraph_json_{Path(path).stem}", REPO / path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return getattr(module, attribute)


def test_the_graphs_load_by_path_and_share_one_model(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("THREADLOOM_MAX_QUEUE", "61")  # a spec no other test has loaded
    loads: list[Any] = []

    def counting_load(spec: Any) -> Any:
        loads.append(spec)
        return real_load(spec)

    real_load = configured.load_chat_model
    monkeypatch.setattr(configured, "load_chat_model", counting_load)
    entries = json.loads((REPO / "langgraph.json").read_text())["graphs"]

    graphs = {graph_id: _load(entry) for graph_id, entry in entries.items()}

    assert set(graphs) == {"agent", "supervisor", "approval"}
    for graph_id, graph in graphs.items():
        assert isinstance(graph, Pregel) and graph.name == graph_id
        assert graph.checkpointer is None  # the server that loads it brings its own
    assert [spec.max_queue for spec in loads] == [61]
    assert {name for name, _ in graphs["supervisor"].get_subgraphs()} == {
        "math_agent",
        "research_agent",
    }
