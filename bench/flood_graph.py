"""A user's graph over a chat model that streams tokens and costs nothing: `bench.token_flood`
serves it from a `langgraph.json` of its own, as a user would.

`FloodModel` answers the last user message, a number N, with N one-character tokens streamed
one at a time, handing the loop back after each as a model read from a socket would; it does no
work beyond building the chunk, so what a token costs is LangChain, LangGraph and the server.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langgraph.graph import START, MessagesState, StateGraph

GRAPH_NAME = "flood"
TOKEN = "x"


class FloodModel(BaseChatModel):
    """Streams as many `TOKEN`s as the last message's content says."""

    @property
    def _llm_type(self) -> str:
        return "flood"

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        reply = AIMessage(content=TOKEN * _count(messages))
        return ChatResult(generations=[ChatGeneration(message=reply)])

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        for _ in range(_count(messages)):
            yield ChatGenerationChunk(message=AIMessageChunk(content=TOKEN))

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        for _ in range(_count(messages)):
            yield ChatGenerationChunk(message=AIMessageChunk(content=TOKEN))
            await asyncio.sleep(0)  # as a token read from a socket: the loop runs in between


def _count(messages: list[BaseMessage]) -> int:
    return int(str(messages[-1].content).strip()) if messages else 0


async def chat(state: MessagesState) -> dict[str, Any]:
    return {"messages": [await FloodModel().ainvoke(state["messages"])]}


graph = StateGraph(MessagesState).add_node(chat).add_edge(START, "chat").compile(name=GRAPH_NAME)
