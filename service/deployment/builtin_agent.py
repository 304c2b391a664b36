"""The built-in agent graph, built from the settings: the one factory behind `service/studio.py`,
which the repository's `langgraph.json` serves to `threadloom serve` and `langgraph dev` alike."""

from __future__ import annotations

from langchain_core.language_models import BaseChatModel
from langchain_core.tools import BaseTool
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import StateGraph
from langgraph.pregel import Pregel
from langgraph.store.base import BaseStore

from threadloom.graphs import build_graph
from threadloom.models.configured import chat_model
from threadloom.service.assistants import GRAPH_ID
from threadloom.service.errors import ConfigurationError
from threadloom.service.settings import Settings
from threadloom.tools.calculator import compute_pool
from threadloom.tools.registry import get_tools


def make_agent_graph(settings: Settings, model: BaseChatModel | None = None) -> StateGraph:
    """The agent graph, not compiled; `model` replaces the configured one (tests pass a fake).

    The configured model comes from `chat_model`, so graphs of the same process that ask for
    the same model (the supervisor's sub-agents, a user's graph) share it with the agent.
    """
    tools = configured_tools(settings)  # first: a bad tool setting fails before a model loads
    if "calculator" in settings.tools:
        # Started here, at start-up (off the event loop), so no request waits for a worker.
        compute_pool.configure(
            size=settings.compute_workers,
            timeout_s=settings.compute_timeout_s,
            memory_mb=settings.compute_memory_mb,
        )
        compute_pool.start()
    return build_graph(
        model if model is not None else chat_model(settings.to_spec()),
        tools,
        system_prompt=settings.system_prompt,
    )


def configured_tools(settings: Settings) -> list[BaseTool]:
    """The tools the settings name; a `ConfigurationError` saying which entry is unusable (an
    unknown name, a bad import path, an MCP server that does not start)."""
    tavily_key = settings.tavily_api_key.get_secret_value() if settings.tavily_api_key else None
    try:
        return get_tools(
            settings.tools,
            tavily_api_key=tavily_key,
            mcp_servers_file=settings.mcp_servers_file,
            mcp_timeout_s=settings.mcp_timeout_s,
        )
    except ValueError as exc:
        # The message says it all; the MCP client's nested task-group traces would bury it.
        raise ConfigurationError(str(exc)) from None


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


def agent_graph(settings: Settings, model: BaseChatModel | None = None) -> Pregel:
    """The agent compiled as it is served (tests pass a fake `model`)."""
    return compile_agent(make_agent_graph(settings, model), settings)
