"""Graphs as LangGraph state machines: the agent, the supervisor and the approval flow.

Each builder takes a chat model and tools and returns an uncompiled `StateGraph`; the same
builders feed the service, Studio and `langgraph.json` (`graphs/*_app.py`).
"""

from threadloom.graphs.agent import build_graph
from threadloom.graphs.approval import build_approval_graph
from threadloom.graphs.supervisor import build_supervisor

__all__ = ["build_approval_graph", "build_graph", "build_supervisor"]
