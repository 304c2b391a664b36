"""`GraphSpans`: a LangChain callback handler that turns one run's graph into spans.

LangGraph reports every node, model call and tool call through LangChain's callbacks; this
handler opens a span for each node (a chain whose name is its `langgraph_node` metadata), each
chat model call (tokens in and out, time to its first token) and each tool call (name,
outcome). Parents follow LangChain's `parent_run_id`, not the current context: callbacks may
come from a worker thread or another task, and the ids say exactly which node a call belongs
to. Chains that are not nodes (the graph itself, edges, bound models) pass their parent's
context on, so a model span's parent is its node and a node's parent is the run's span.

It is attached to the run's config only while tracing is on
(`service.observability.tracing.RunTrace`),
beside LangSmith's tracer when that is configured: it replaces no other callback.
"""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.outputs import LLMResult
from langgraph.errors import GraphBubbleUp
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import Span, SpanKind, Status, StatusCode, Tracer


@dataclass(slots=True)
class _Open:
    span: Span
    kind: str  # "node", "model" or "tool"
    started: float
    first_token_seen: bool = False


class GraphSpans(BaseCallbackHandler):
    """Spans for the nodes, model calls and tool calls of one run, under `root` (the run's)."""

    # Called where the event happens: no hop through an executor for each callback.
    run_inline = True

    def __init__(self, tracer: Tracer, root: Context) -> None:
        self._tracer = tracer
        self._root = root
        # The context each LangChain run gives its children; spans still open.
        self._contexts: dict[UUID, Context] = {}
        self._open: dict[UUID, _Open] = {}
        self._lock = threading.Lock()

    # Chains: nodes get spans, other chains pass their parent's context on.
    def on_chain_start(
        self,
        serialized: dict[str, Any] | None,
        inputs: Any,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        metadata = metadata or {}
        node = metadata.get("langgraph_node")
        if node is None or kwargs.get("name") != node:
            with self._lock:
                self._contexts[run_id] = self._parent(parent_run_id)
            return
        attributes = {"langgraph.node": node}
        if (step := metadata.get("langgraph_step")) is not None:
            attributes["langgraph.step"] = step
        self._start(run_id, parent_run_id, f"node {node}", "node", attributes)

    def on_chain_end(self, outputs: Any, *, run_id: UUID, **kwargs: Any) -> None:
        self._end(run_id)

    def on_chain_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        self._end(run_id, error)

    # Model calls.
    def on_chat_model_start(
        self,
        serialized: dict[str, Any] | None,
        messages: list[list[Any]],
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        model = (metadata or {}).get("ls_model_name") or _model_type(kwargs) or "model"
        attributes = {"gen_ai.operation.name": "chat", "gen_ai.request.model": str(model)}
        self._start(run_id, parent_run_id, f"chat {model}", "model", attributes)

    def on_llm_start(
        self,
        serialized: dict[str, Any] | None,
        prompts: list[str],
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        self.on_chat_model_start(
            serialized, [], run_id=run_id, parent_run_id=parent_run_id, metadata=metadata, **kwargs
        )

    def on_llm_new_token(self, token: str, *, run_id: UUID, **kwargs: Any) -> None:
        call = self._open.get(run_id)
        if call is None or call.first_token_seen:
            return
        call.first_token_seen = True
        seconds = time.perf_counter() - call.started
        call.span.set_attribute("threadloom.time_to_first_token_s", seconds)
        call.span.add_event("first_token")

    def on_llm_end(self, response: LLMResult, *, run_id: UUID, **kwargs: Any) -> None:
        call = self._open.get(run_id)
        if call is not None:
            for name, count in _token_counts(response).items():
                call.span.set_attribute(name, count)
        self._end(run_id)

    def on_llm_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        self._end(run_id, error)

    # Tool calls.
    def on_tool_start(
        self,
        serialized: dict[str, Any] | None,
        input_str: str,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        **kwargs: Any,
    ) -> None:
        name = kwargs.get("name") or (serialized or {}).get("name") or "tool"
        attributes = {"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": name}
        self._start(run_id, parent_run_id, f"execute_tool {name}", "tool", attributes)

    def on_tool_end(self, output: Any, *, run_id: UUID, **kwargs: Any) -> None:
        self._set_outcome(run_id, "ok")
        self._end(run_id)

    def on_tool_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        # Cancelled: the run was, or the tools node's time limit cut the call.
        cancelled = isinstance(error, asyncio.CancelledError)
        self._set_outcome(run_id, "cancelled" if cancelled else "error")
        self._end(run_id, error)

    def end_open_spans(self) -> None:
        """End the spans whose calls never reported an end (cancelled, or cut by a timeout)."""
        with self._lock:
            left = list(self._open.values())
            self._open.clear()
            self._contexts.clear()
        for call in left:
            if call.kind == "tool":
                call.span.set_attribute("threadloom.tool.outcome", "cancelled")
            call.span.set_attribute("threadloom.unfinished", True)
            call.span.end()

    def _parent(self, parent_run_id: UUID | None) -> Context:
        if parent_run_id is None:
            return self._root
        return self._contexts.get(parent_run_id, self._root)

    def _start(
        self,
        run_id: UUID,
        parent_run_id: UUID | None,
        name: str,
        kind: str,
        attributes: dict[str, Any],
    ) -> None:
        with self._lock:
            parent = self._parent(parent_run_id)
            span = self._tracer.start_span(
                name, context=parent, kind=SpanKind.INTERNAL, attributes=attributes
            )
            self._contexts[run_id] = trace.set_span_in_context(span, parent)
            self._open[run_id] = _Open(span, kind, time.perf_counter())

    def _set_outcome(self, run_id: UUID, outcome: str) -> None:
        if (call := self._open.get(run_id)) is not None:
            call.span.set_attribute("threadloom.tool.outcome", outcome)

    def _end(self, run_id: UUID, error: BaseException | None = None) -> None:
        with self._lock:
            self._contexts.pop(run_id, None)
            call = self._open.pop(run_id, None)
        if call is None:
            return
        if isinstance(error, GraphBubbleUp):  # an interrupt or a jump: control flow
            call.span.set_attribute("langgraph.interrupted", True)
        elif isinstance(error, asyncio.CancelledError):
            call.span.set_attribute("threadloom.cancelled", True)
        elif error is not None:
            call.span.record_exception(error)
            call.span.set_status(Status(StatusCode.ERROR, f"{type(error).__name__}: {error}"))
        call.span.end()


def _model_type(kwargs: dict[str, Any]) -> str | None:
    """The model class's own name for itself, for models that do not report `ls_model_name`."""
    return (kwargs.get("invocation_params") or {}).get("_type")


def _token_counts(response: LLMResult) -> dict[str, int]:
    """Tokens in and out, from the reply's usage metadata (or the provider's `token_usage`)."""
    for generations in response.generations:
        for generation in generations:
            usage = getattr(getattr(generation, "message", None), "usage_metadata", None)
            if usage:
                return {
                    "gen_ai.usage.input_tokens": usage["input_tokens"],
                    "gen_ai.usage.output_tokens": usage["output_tokens"],
                }
    usage = (response.llm_output or {}).get("token_usage") or {}
    counts = {
        "gen_ai.usage.input_tokens": usage.get("prompt_tokens"),
        "gen_ai.usage.output_tokens": usage.get("completion_tokens"),
    }
    return {name: count for name, count in counts.items() if isinstance(count, int)}
