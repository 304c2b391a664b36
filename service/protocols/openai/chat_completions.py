"""A finished agent turn as a `chat.completion`, or a running one as `chat.completion.chunk`
server-sent events ending with `data: [DONE]`.

The tools the agent ran are shown in a field OpenAI's schema does not have,
`agent_tool_calls` (in the message, and in a chunk's delta once a tool has answered), so
clients that do not know it ignore it, and none mistakes them for calls it should run.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

from threadloom.service.http.json_codec import dumps
from threadloom.service.protocols.openai.agent_run import (
    AgentTurn,
    RunFailed,
    TextDelta,
    ToolRun,
    Usage,
)
from threadloom.service.protocols.openai.bodies import (
    AssistantMessage,
    ChatCompletion,
    Choice,
    CompletionUsage,
)
from threadloom.service.protocols.openai.error_shape import error_body

DONE = b"data: [DONE]\n\n"


def completion_id(turn: AgentTurn) -> str:
    return "chatcmpl-" + turn.run.run_id.replace("-", "")


async def chat_completion(turn: AgentTurn, model: str, *, stateful: bool) -> ChatCompletion:
    """Wait for the turn to end and describe it as one completion."""
    result = await turn.finish()
    message = AssistantMessage(
        content=result.text, agent_tool_calls=[run.as_tool_call() for run in result.tool_runs]
    )
    return ChatCompletion(
        id=completion_id(turn),
        created=int(time.time()),
        model=model,
        choices=[Choice(message=message, finish_reason=result.finish_reason)],
        usage=_usage(result.usage),
        thread_id=turn.thread_id if stateful else None,
    )


async def completion_chunks(
    turn: AgentTurn, model: str, *, include_usage: bool
) -> AsyncIterator[bytes]:
    """The turn as SSE `data:` lines: the role, text deltas token by token, tool calls the
    agent ran, the finish reason, usage if asked, then `[DONE]`. A failing run ends the
    stream with an `error` object instead, as OpenAI's streams do."""
    chunk = _ChunkWriter(completion_id(turn), model, include_usage)
    yield chunk.delta({"role": "assistant", "content": ""})
    try:
        async for happening in turn.happenings():
            if isinstance(happening, TextDelta):
                yield chunk.delta({"content": happening.text})
            elif isinstance(happening, ToolRun) and happening.output is not None:
                yield chunk.delta({"agent_tool_calls": [happening.as_tool_call().model_dump()]})
    except RunFailed as exc:
        yield _data(error_body(exc.detail, 500))
        return
    yield chunk.delta({}, finish_reason=turn.result.finish_reason)
    if include_usage:
        yield chunk.usage(_usage(turn.result.usage))
    yield DONE


class _ChunkWriter:
    def __init__(self, chunk_id: str, model: str, include_usage: bool) -> None:
        self._head = {
            "id": chunk_id,
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": model,
        }
        self._include_usage = include_usage

    def delta(self, delta: dict[str, Any], finish_reason: str | None = None) -> bytes:
        choice = {"index": 0, "delta": delta, "finish_reason": finish_reason, "logprobs": None}
        return self._chunk([choice], None)

    def usage(self, usage: CompletionUsage) -> bytes:
        return self._chunk([], usage.model_dump())

    def _chunk(self, choices: list[dict[str, Any]], usage: dict[str, Any] | None) -> bytes:
        chunk: dict[str, Any] = {**self._head, "choices": choices}
        if self._include_usage:  # OpenAI sends `usage: null` on the others when asked for it
            chunk["usage"] = usage
        return _data(chunk)


def _data(payload: Any) -> bytes:
    return b"data: " + dumps(payload) + b"\n\n"


def _usage(usage: Usage) -> CompletionUsage:
    return CompletionUsage(
        prompt_tokens=usage.input_tokens,
        completion_tokens=usage.output_tokens,
        total_tokens=usage.total_tokens,
    )
