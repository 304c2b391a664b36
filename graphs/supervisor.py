"""`build_supervisor`: a supervisor that hands each question to one of two ReAct sub-agents.

    START → supervisor → math_agent     (calculator) → END
                       ↘ research_agent (search)     ↗

Each sub-agent is the agent graph (`build_graph`) with one tool, compiled and added as a node:
a subgraph. So its steps stream under its own namespace (`updates|math_agent:<task id>` with
`stream_subgraphs`), its state is checkpointed under that namespace and shown by
`get_state(subgraphs=True)` while it is paused (e.g. waiting for a tool approval), and Studio
draws it nested inside its node. The supervisor routes with `route_question` (a rule, not a
model call: see `graphs.routing`) and records its choice in the state's `route`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NotRequired

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import HumanMessage
from langchain_core.tools import BaseTool
from langgraph.graph import END, START, StateGraph

from threadloom.graphs.agent import build_graph
from threadloom.graphs.routing import Route, route_question
from threadloom.graphs.state import AgentState

MATH_PROMPT = "You are the math agent. Compute with the calculator and answer with its result."
RESEARCH_PROMPT = "You are the research agent. Look facts up with search and answer from them."


class SupervisorState(AgentState):
    route: NotRequired[Route]  # the sub-agent that answers the latest question


def build_supervisor(
    model: BaseChatModel,
    calculator: BaseTool,
    search: BaseTool,
    router: Callable[[str], Route] = route_question,
) -> StateGraph:
    """Build the supervisor graph (not compiled: the caller adds its checkpointer).

    `router` maps the latest user question to "math_agent" or "research_agent"; the default is a
    rule that the bundled model needs no part in. Both sub-agents share `model`.

    Example:
        >>> graph = build_supervisor(chat_model(), calculator, search).compile(checkpointer=saver)
        >>> graph.invoke({"messages": [("user", "compute 17*23")]}, config)["route"]
        'math_agent'
    """
    math_agent = build_graph(model, [calculator], system_prompt=MATH_PROMPT)
    research_agent = build_graph(model, [search], system_prompt=RESEARCH_PROMPT)

    def supervisor(state: SupervisorState) -> dict[str, Any]:
        return {"route": router(_latest_question(state))}

    graph = StateGraph(SupervisorState)
    graph.add_node("supervisor", supervisor)
    graph.add_node("math_agent", math_agent.compile(name="math_agent"))
    graph.add_node("research_agent", research_agent.compile(name="research_agent"))
    graph.add_edge(START, "supervisor")
    graph.add_conditional_edges(
        "supervisor", lambda state: state["route"], ["math_agent", "research_agent"]
    )
    graph.add_edge("math_agent", END)
    graph.add_edge("research_agent", END)
    return graph


def _latest_question(state: SupervisorState) -> str:
    asked = [m for m in state["messages"] if isinstance(m, HumanMessage)]
    return asked[-1].text if asked else ""
