"""The agent as a LangGraph state machine; the same factory feeds the service and Studio."""

from threadloom.graphs.agent import build_graph

__all__ = ["build_graph"]
