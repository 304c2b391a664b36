"""The graph the SDK contract runs against, on our server and on `langgraph dev` alike.

It is the agent graph with a fake model that, besides the arithmetic of `FakeToolCallingModel`,
tells its system prompt when asked for its "instructions", and, asked to "hang", generates
until the run is cancelled (a run that keeps its thread busy for as long as a test needs).

`langgraph dev` loads `graph` from this file (see `test_sdk_contract.py`).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, SystemMessage
from langchain_core.outputs import ChatGenerationChunk, ChatResult
from langgraph.graph import StateGraph

from tests.fakes import FakeToolCallingModel
from threadloom.service.deployment.builtin_agent import compile_agent, make_agent_graph
from threadloom.service.settings import Settings

TOOLS = ["calculator", "search"]
HANG = "hang"


class ContractModel(FakeToolCallingModel):
    """`FakeToolCallingModel` that also answers "instructions" and "hang" (see the module)."""

    def reply_to(self, messages: Sequence[BaseMessage]) -> AIMessage:
        if messages and "instructions" in messages[-1].text:
            system = next((m.text for m in messages if isinstance(m, SystemMessage)), "none")
            return AIMessage(content=f"My instructions: {system}")
        return super().reply_to(messages)

    async def _agenerate(
        self, messages: list[BaseMessage], *args: Any, **kwargs: Any
    ) -> ChatResult:
        await self._hang_if_asked(messages)
        return await super()._agenerate(messages, *args, **kwargs)

    async def _astream(
        self, messages: list[BaseMessage], *args: Any, **kwargs: Any
    ) -> AsyncIterator[ChatGenerationChunk]:
        await self._hang_if_asked(messages)
        async for chunk in super()._astream(messages, *args, **kwargs):
            yield chunk

    async def _hang_if_asked(self, messages: list[BaseMessage]) -> None:
        if not messages or HANG not in messages[-1].text:
            return
        if self.started is not None:
            self.started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            if self.cancelled is not None:
                self.cancelled.set()
            raise


def make_contract_graph(settings: Settings, model: ContractModel | None = None) -> StateGraph:
    return make_agent_graph(settings, model=model or ContractModel())


_settings = Settings(tools=TOOLS)
graph = compile_agent(make_contract_graph(_settings), _settings)
