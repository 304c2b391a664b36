"""A finished agent turn as a Responses API `response`, or a running one as its stream of
events: `response.created`, `response.in_progress`, the answer message (`output_item.added`,
`content_part.added`, `output_text.delta`..., `output_text.done`, `content_part.done`,
`output_item.done`), then `response.completed` (or `response.failed`).

The tools the agent ran are in a field OpenAI's schema does not have, `agent_tool_calls` (as in
a chat completion's message), so they reach no client's output handling; while streaming, each
is also sent as an event of its own type, `response.agent_tool_call.done`, once it has answered.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from threadloom.service.http.json_codec import dumps
from threadloom.service.protocols.openai.agent_run import AgentTurn, RunFailed, TextDelta, ToolRun
from threadloom.service.protocols.openai.bodies import (
    ResponseMessage,
    ResponseObject,
    ResponseOutputText,
    ResponseUsage,
)
from threadloom.service.protocols.openai.conversation import response_id


@dataclass
class ResponseDraft:
    """What every event of one response repeats."""

    model: str
    previous_response_id: str | None
    instructions: str | None
    metadata: dict[str, str]
    store: bool
    created_at: int = field(default_factory=lambda: int(time.time()))

    def response(self, turn: AgentTurn, status: str, **fields: Any) -> ResponseObject:
        return ResponseObject(
            id=response_id(turn.thread_id, turn.run.run_id),
            created_at=self.created_at,
            status=status,
            model=self.model,
            previous_response_id=self.previous_response_id,
            instructions=self.instructions,
            metadata=self.metadata,
            store=self.store,
            agent_tool_calls=[run.as_tool_call() for run in turn.result.tool_runs],
            **fields,
        )


async def finished_response(turn: AgentTurn, draft: ResponseDraft) -> ResponseObject:
    result = await turn.finish()
    return draft.response(
        turn, "completed", output=[_message(turn, result.text)], usage=_usage(turn)
    )


async def response_events(turn: AgentTurn, draft: ResponseDraft) -> AsyncIterator[bytes]:
    """The Responses API's events for the turn, as SSE frames."""
    events = _EventWriter()
    started = draft.response(turn, "in_progress").model_dump()
    yield events.write("response.created", response=started)
    yield events.write("response.in_progress", response=started)
    message = _message(turn, "", status="in_progress")
    where = {"item_id": message.id, "output_index": 0, "content_index": 0}
    text: list[str] = []
    try:
        async for happening in turn.happenings():
            if isinstance(happening, ToolRun) and happening.output is not None:
                call = happening.as_tool_call().model_dump()
                yield events.write("response.agent_tool_call.done", tool_call=call)
            elif isinstance(happening, TextDelta):
                if not text:
                    for frame in _message_opened(events, message):
                        yield frame
                text.append(happening.text)
                yield events.write(
                    "response.output_text.delta", **where, delta=happening.text, logprobs=[]
                )
    except RunFailed as exc:
        error = {"code": "server_error", "message": exc.detail}
        failed = draft.response(turn, "failed", error=error)
        yield events.write("response.failed", response=failed.model_dump())
        return
    if not text:
        for frame in _message_opened(events, message):
            yield frame
    answer = turn.result.text  # what the deltas said, by `AgentTurn`'s rule
    done = _message(turn, answer)
    part = done.content[0].model_dump()
    yield events.write("response.output_text.done", **where, text=answer, logprobs=[])
    yield events.write("response.content_part.done", **where, part=part)
    yield events.write("response.output_item.done", output_index=0, item=done.model_dump())
    completed = draft.response(turn, "completed", output=[done], usage=_usage(turn))
    yield events.write("response.completed", response=completed.model_dump())


def _message_opened(events: _EventWriter, message: ResponseMessage) -> list[bytes]:
    part = ResponseOutputText(text="").model_dump()
    return [
        events.write("response.output_item.added", output_index=0, item=message.model_dump()),
        events.write(
            "response.content_part.added",
            item_id=message.id,
            output_index=0,
            content_index=0,
            part=part,
        ),
    ]


class _EventWriter:
    """SSE frames `event: TYPE` / `data: {"type": TYPE, "sequence_number": N, ...}`."""

    def __init__(self) -> None:
        self._sequence = 0

    def write(self, kind: str, **fields: Any) -> bytes:
        payload = {"type": kind, "sequence_number": self._sequence, **fields}
        self._sequence += 1
        return b"event: " + kind.encode() + b"\ndata: " + dumps(payload) + b"\n\n"


def _message(turn: AgentTurn, text: str, status: str = "completed") -> ResponseMessage:
    content = [ResponseOutputText(text=text)] if status == "completed" else []
    return ResponseMessage(
        id="msg_" + turn.run.run_id.replace("-", ""), status=status, content=content
    )


def _usage(turn: AgentTurn) -> ResponseUsage:
    usage = turn.result.usage
    return ResponseUsage(
        input_tokens=usage.input_tokens,
        output_tokens=usage.output_tokens,
        total_tokens=usage.total_tokens,
    )
