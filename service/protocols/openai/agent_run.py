"""One agent turn asked for by an OpenAI request: a run through the `RunManager`, and what its
events mean to an OpenAI client (answer text as it is generated, the tools the agent ran, the
tokens it used).

The run asks for `messages-tuple` (token chunks) and `updates` (each node's output: the AI
messages with their tool calls and usage, the tool messages with the results).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from threadloom.service.errors import ServiceError
from threadloom.service.http.json_codec import dumps, loads
from threadloom.service.protocols.openai.bodies import AgentToolCall, FunctionCall
from threadloom.service.runs.manager import ActiveRun, RunManager
from threadloom.service.schemas.runs import RunCreate

STREAM_MODES = ["messages-tuple", "updates"]


@dataclass(frozen=True, slots=True)
class TextDelta:
    """Answer text as the model generates it."""

    text: str


@dataclass(frozen=True, slots=True)
class ToolRun:
    """A tool call the agent made, with the tool's output once it has run (None before)."""

    call_id: str
    name: str
    arguments: str
    output: str | None = None

    def as_tool_call(self) -> AgentToolCall:
        """As the chat and Responses answers show it."""
        return AgentToolCall(
            id=self.call_id,
            function=FunctionCall(name=self.name, arguments=self.arguments),
            output=self.output,
        )


@dataclass(slots=True)
class Usage:
    """Tokens the run's model calls used, summed."""

    input_tokens: int = 0
    output_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens


class RunFailed(ServiceError):
    """The graph failed; the message is the run's `error` event's."""


@dataclass(slots=True)
class TurnResult:
    """What the run left: the final answer, the tools run, usage, and the thread it ran on."""

    text: str = ""
    tool_runs: list[ToolRun] = field(default_factory=list)
    usage: Usage = field(default_factory=Usage)
    finish_reason: str = "stop"


Happening = TextDelta | ToolRun


class AgentTurn:
    """A run of `assistant_id` with `input`, followed event by event.

    `thread_id` None runs statelessly (a thread of its own, deleted after); otherwise the run
    goes on that thread (created if missing), from `checkpoint_id` when given.
    """

    def __init__(self, run: ActiveRun) -> None:
        self.run = run
        self.result = TurnResult()
        self._calls: dict[str, ToolRun] = {}

    @classmethod
    async def start(
        cls,
        runs: RunManager,
        assistant_id: str,
        messages: list[dict[str, Any]],
        *,
        thread_id: str | None,
        checkpoint_id: str | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> AgentTurn:
        request = RunCreate.checked(
            assistant_id=assistant_id,
            input={"messages": messages},
            stream_mode=STREAM_MODES,
            if_not_exists="create",
            checkpoint_id=checkpoint_id,
            metadata=metadata,
        )
        return cls(await runs.submit(thread_id, request))

    @property
    def thread_id(self) -> str:
        return self.run.thread_id

    async def happenings(self) -> AsyncIterator[Happening]:
        """Text deltas and tool runs (a call, then the same call with its output) as they
        come; afterwards `result` holds the answer. Raises `RunFailed` if the graph fails."""
        async for _, event in self.run.log.follow(0):
            data = loads(event.data)
            if event.name == "messages":
                if (delta := _text_delta(data[0])) is not None:
                    yield delta
            elif event.name == "updates":
                for message in _update_messages(data):
                    for happening in self._note(message):
                        yield happening
            elif event.name == "error":
                raise RunFailed(data.get("message") or "The run failed.")
        outcome = await self.run.outcome()
        if outcome.status == "error":
            raise RunFailed(str(outcome.error or "The run failed."))
        self.result.text = final_text(outcome.result)

    async def finish(self) -> TurnResult:
        """Follow the run to its end (no streaming) and return what it left."""
        async for _ in self.happenings():
            pass
        return self.result

    def cancel_unless_done(self) -> None:
        """The client left: stop the run unless it has ended."""
        if not self.run.task.done():
            self.run.cancel()

    def _note(self, message: dict[str, Any]) -> list[ToolRun]:
        kind = message.get("type")
        if kind == "ai":
            usage = message.get("usage_metadata") or {}
            self.result.usage.input_tokens += usage.get("input_tokens", 0)
            self.result.usage.output_tokens += usage.get("output_tokens", 0)
            finish = (message.get("response_metadata") or {}).get("finish_reason")
            self.result.finish_reason = "length" if finish == "length" else "stop"
            return [self._called(call) for call in message.get("tool_calls") or []]
        if kind == "tool" and (call := self._calls.get(message.get("tool_call_id", ""))):
            done = ToolRun(call.call_id, call.name, call.arguments, _text(message.get("content")))
            self.result.tool_runs[self.result.tool_runs.index(call)] = done
            self._calls[call.call_id] = done
            return [done]
        return []

    def _called(self, call: dict[str, Any]) -> ToolRun:
        arguments = dumps(call.get("args") or {}).decode()
        tool_run = ToolRun(call.get("id") or f"call_{len(self._calls)}", call["name"], arguments)
        self._calls[tool_run.call_id] = tool_run
        self.result.tool_runs.append(tool_run)
        return tool_run


def final_text(values: Any) -> str:
    """The answer a run's final values hold: its last AI message's text (a graph without
    messages answers its values as JSON)."""
    messages = values.get("messages") if isinstance(values, dict) else None
    if not isinstance(messages, list):
        return dumps(values).decode()
    for message in reversed(messages):
        if _field(message, "type") == "ai":
            return _text(_field(message, "content"))
    return ""


def _field(message: Any, name: str) -> Any:
    return message.get(name) if isinstance(message, dict) else getattr(message, name, None)


def _text_delta(chunk: dict[str, Any]) -> TextDelta | None:
    if chunk.get("type") != "AIMessageChunk":
        return None
    text = _text(chunk.get("content"))
    return TextDelta(text) if text else None


def _update_messages(update: Any) -> list[dict[str, Any]]:
    """The messages the nodes of one `updates` event returned."""
    found: list[dict[str, Any]] = []
    if not isinstance(update, dict):
        return found
    for output in update.values():
        messages = output.get("messages") if isinstance(output, dict) else None
        if isinstance(messages, list):
            found += [m for m in messages if isinstance(m, dict)]
        elif isinstance(messages, dict):
            found.append(messages)
    return found


def _text(content: Any) -> str:
    """Message content as text: a string, or the text parts of a list of content blocks."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(
            part if isinstance(part, str) else str(part.get("text", ""))
            for part in content
            if isinstance(part, str) or (isinstance(part, dict) and "text" in part)
        )
    return "" if content is None else str(content)
