"""The served graph, built from the settings: the one factory behind the service and Studio."""

from __future__ import annotations

from langchain_core.language_models import BaseChatModel
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import StateGraph
from langgraph.pregel import Pregel
from langgraph.store.base import BaseStore

from threadloom.graphs import build_graph
from threadloom.models.configured import chat_model
from threadloom.service.assistants import GRAPH_ID
from threadloom.service.settings import Settings
from threadloom.tools.registry import get_tools


def make_agent_graph(settings: Settings, model: BaseChatModel | None = None) -> StateGraph:
    """The agent graph, not compiled; `model` replaces the configured one (tests pass a fake).

    The configured model comes from `chat_model`, so graphs of the same process that ask for
    the same model (the supervisor's sub-agents, a user's graph) share it with the agent.
    """
    tavily_key = settings.tavily_api_key.get_secret_value() if settings.tavily_api_key else None
    return build_graph(
        model if model is not None else chat_model(settings.to_spec()),
        get_tools(settings.tools, tavily_api_key=tavily_key),
        system_prompt=settings.system_prompt,
    )


def compile_agent(
    graph: StateGraph,
    settings: Settings,
    checkpointer: BaseCheckpointSaver | None = None,
    store: BaseStore | None = None,
) -> Pregel:
    """Compile `graph` under the assistant's name, with the step limit as its recursion limit.

    Without a checkpointer and a store (Studio / `langgraph dev`), the server running it
    supplies them.
    """
    compiled = graph.compile(checkpointer=checkpointer, store=store, name=GRAPH_ID)
    return compiled.with_config(recursion_limit=settings.max_steps)
