"""The real agent graph over a chat model that costs nothing, so a benchmark times only the rest.

`ZeroCostModel` calls the calculator once and then answers with its result: one tool round
per run, as a real agent's simplest question takes. It does no work beyond building the
message, so what a run costs is LangGraph, the checkpointer and whatever serves the graph.

`graph` is the compiled graph (no checkpointer: the server running it brings one) that the
benchmark's `langgraph.json` points `langgraph dev` at.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, ToolMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langgraph.graph import StateGraph

from threadloom.graphs import build_graph
from threadloom.service.settings import DEFAULT_SYSTEM_PROMPT
from threadloom.tools.registry import get_tools

GRAPH_NAME = "agent"
TOOL = "calculator"
TOOLS = [TOOL]
QUESTION = "What is 17 * 23?"
EXPRESSION = "17 * 23"
ANSWER = "The answer is 391."


class WrongAnswer(RuntimeError):
    """A run ended without the expected answer: the system measured did not do the work."""


class ZeroCostModel(BaseChatModel):
    """First call: a `calculator` tool call; once the tool has answered: the final answer."""

    @property
    def _llm_type(self) -> str:
        return "zero-cost"

    def bind_tools(self, tools: Sequence[Any], **kwargs: Any) -> ZeroCostModel:
        return self

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        return _result(messages)

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        # Overridden so that the async path does not hop to a thread pool as the default does.
        return _result(messages)


def _result(messages: Sequence[BaseMessage]) -> ChatResult:
    last = messages[-1] if messages else None
    if isinstance(last, ToolMessage):
        reply = AIMessage(content=f"The answer is {last.content}.")
    else:
        call = {
            "name": TOOL,
            "args": {"expression": EXPRESSION},
            "id": f"call_{uuid.uuid4().hex[:12]}",
            "type": "tool_call",
        }
        reply = AIMessage(content="", tool_calls=[call])
    return ChatResult(generations=[ChatGeneration(message=reply)])


def build_fake_graph() -> StateGraph:
    """The agent graph exactly as the service builds it for `THREADLOOM_TOOLS=calculator`."""
    return build_graph(ZeroCostModel(), get_tools(TOOLS), system_prompt=DEFAULT_SYSTEM_PROMPT)


def run_input() -> dict[str, Any]:
    """The input of one benchmark run: the question that takes one tool round."""
    return {"messages": [{"role": "user", "content": QUESTION}]}


def expect_answer(values: dict[str, Any]) -> None:
    """Check a run's final values (messages as objects or as JSON) end with `ANSWER`."""
    messages = values.get("messages") or [None]
    last = messages[-1]
    content = last.get("content") if isinstance(last, dict) else getattr(last, "content", None)
    if content != ANSWER:
        raise WrongAnswer(f"expected the run to end with {ANSWER!r}, got {str(values)[:300]}")


graph = build_fake_graph().compile(name=GRAPH_NAME)
