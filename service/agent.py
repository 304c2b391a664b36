"""The served graph, built from the settings: the one factory behind the service and Studio."""

from __future__ import annotations

from langchain_core.language_models import BaseChatModel
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import StateGraph
from langgraph.pregel import Pregel
from langgraph.store.base import BaseStore

from threadloom.graphs import build_graph
from threadloom.models.factory import ModelSpec, load_chat_model
from threadloom.service.assistants import GRAPH_ID
from threadloom.service.settings import Settings
from threadloom.tools.registry import get_tools


def model_spec(settings: Settings) -> ModelSpec:
    """The model half of the settings."""
    return ModelSpec(
        model=settings.model,
        endpoint_url=settings.endpoint_url,
        hf_token=settings.hf_token.get_secret_value() if settings.hf_token else None,
        dtype=settings.dtype,
        device=settings.device,
        quantization=settings.quantization,
        trust_remote_code=settings.trust_remote_code,
        tool_call_format=settings.tool_call_format,
        max_new_tokens=settings.max_new_tokens,
        temperature=settings.temperature,
        max_concurrent=settings.max_batch_size,
        max_batch_size=settings.max_batch_size,
        max_queue=settings.max_queue,
        prefix_cache_bytes=int(settings.prefix_cache_mb * 2**20),
        torch_threads=settings.torch_threads,
    )


def make_agent_graph(settings: Settings, model: BaseChatModel | None = None) -> StateGraph:
    """The agent graph, not compiled; `model` replaces the configured one (tests pass a fake)."""
    tavily_key = settings.tavily_api_key.get_secret_value() if settings.tavily_api_key else None
    return build_graph(
        model if model is not None else load_chat_model(model_spec(settings)),
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
