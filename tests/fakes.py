"""Fake chat models for tests: deterministic, tool-calling, streaming in several chunks.

- `ScriptedChatModel` answers with the replies it is given, in order.
- `FakeToolCallingModel` behaves like a small tool-calling model: asked "what is 6 * 7?" it calls
  the `calculator` tool, and once the tool's result is in the conversation it answers with it.

Both record the messages of every call in `seen`, stream text in chunks of `chunk_chars`
characters (a tool call as one chunk), and take optional asyncio events that let a test hold a
generation open (a busy thread) and see it cancelled.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
from collections.abc import AsyncIterator, Sequence
from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    HumanMessage,
    ToolMessage,
)
from langchain_core.messages.tool import tool_call_chunk
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from pydantic import ConfigDict, Field

ARITHMETIC = re.compile(r"\d[\d\s.+\-*/^()]*\d|\d")
FALLBACK_ANSWER = "I can only help with arithmetic."
_call_ids = itertools.count(1)


class _FakeChatModel(BaseChatModel):
    """What the fakes share: recording, holding at a gate, streaming a reply in chunks.

    `gate`, when given, makes every async generation wait until the test sets it; `started` is
    set when a generation begins and `cancelled` when a waiting generation is cancelled.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    chunk_chars: int = 4
    gate: asyncio.Event | None = None
    started: asyncio.Event | None = None
    cancelled: asyncio.Event | None = None
    seen: list[list[BaseMessage]] = Field(default_factory=list)

    def reply_to(self, messages: Sequence[BaseMessage]) -> AIMessage:
        raise NotImplementedError

    def bind_tools(self, tools: Sequence[Any], **kwargs: Any) -> _FakeChatModel:
        return self

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        return ChatResult(generations=[ChatGeneration(message=self._next(messages))])

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        await self._hold()
        return ChatResult(generations=[ChatGeneration(message=self._next(messages))])

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        await self._hold()
        for chunk in self._chunks(self._next(messages)):
            yield ChatGenerationChunk(message=chunk)

    def _next(self, messages: list[BaseMessage]) -> AIMessage:
        self.seen.append(list(messages))
        return self.reply_to(messages)

    async def _hold(self) -> None:
        if self.started is not None:
            self.started.set()
        if self.gate is None:
            return
        try:
            await self.gate.wait()
        except asyncio.CancelledError:
            if self.cancelled is not None:
                self.cancelled.set()
            raise

    def _chunks(self, message: AIMessage) -> list[AIMessageChunk]:
        if message.tool_calls:
            calls = [
                tool_call_chunk(
                    name=call["name"], args=json.dumps(call["args"]), id=call["id"], index=i
                )
                for i, call in enumerate(message.tool_calls)
            ]
            return [
                AIMessageChunk(
                    content=message.content, tool_call_chunks=calls, chunk_position="last"
                )
            ]
        text = message.text
        pieces = [text[i : i + self.chunk_chars] for i in range(0, len(text), self.chunk_chars)]
        last = len(pieces) - 1
        return [
            AIMessageChunk(content=piece, chunk_position="last" if i == last else None)
            for i, piece in enumerate(pieces or [""])
        ]


class ScriptedChatModel(_FakeChatModel):
    """Replies with `replies` in order; with `repeat_last`, the last one forever after."""

    replies: list[AIMessage]
    repeat_last: bool = False

    @property
    def _llm_type(self) -> str:
        return "scripted"

    def reply_to(self, messages: Sequence[BaseMessage]) -> AIMessage:
        index = len(self.seen) - 1
        if index >= len(self.replies) and not self.repeat_last:
            raise RuntimeError(
                f"ScriptedChatModel ran out of replies: call {index + 1} of "
                f"{len(self.replies)} scripted. Add replies or set repeat_last=True."
            )
        # A copy: LangChain sets the id of the message it gets, and each reply is a new message.
        return self.replies[min(index, len(self.replies) - 1)].model_copy(deep=True)


class FakeToolCallingModel(_FakeChatModel):
    """Calls `calculator` for arithmetic questions, then answers "The answer is <result>."."""

    tool_name: str = "calculator"

    @property
    def _llm_type(self) -> str:
        return "fake-tool-calling"

    def reply_to(self, messages: Sequence[BaseMessage]) -> AIMessage:
        last = messages[-1] if messages else None
        if isinstance(last, ToolMessage):
            return AIMessage(content=f"The answer is {last.content}.")
        if isinstance(last, HumanMessage) and (match := ARITHMETIC.search(last.text)):
            call = {
                "name": self.tool_name,
                "args": {"expression": match.group().strip()},
                "id": f"call_{next(_call_ids)}",
                "type": "tool_call",
            }
            return AIMessage(content="", tool_calls=[call])
        return AIMessage(content=FALLBACK_ANSWER)
