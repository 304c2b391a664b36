"""One agent turn asked for by an OpenAI request: a run through the `RunManager`, and what its
events mean to an OpenAI client (answer text as it is generated, the tools the agent ran, the
tokens it used).

The run asks for `messages-tuple` (token chunks) and `updates` (each node's output: the AI
messages with their tool calls and usage, the tool messages with the results).

The answer follows one rule, streamed or not: every AI message of the run that has text, in
order, separated by a blank line (`ANSWER_SEPARATOR`); a run that stopped at `interrupt()`
ends with a paragraph saying what it waits for. The text deltas of a stream join into exactly
the answer a non-streamed request gets.
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
# Between the texts of two AI messages of one run.
ANSWER_SEPARATOR = "\n\n"
INTERRUPT_KEY = "__interrupt__"


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
    # The values of the interrupts the run stopped at (none if it ran to its end).
    interrupts: list[Any] = field(default_factory=list)


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
        self._said: list[str] = []  # the answer's text so far
        self._speaking: str | None = None  # the AI message whose text comes now
        self._spoken: set[str] = set()  # AI messages whose text was said

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
                for delta in self._streamed(data[0]):
                    yield delta
            elif event.name == "updates":
                for happening in self._updated(data):
                    yield happening
            elif event.name == "error":
                raise RunFailed(data.get("message") or "The run failed.")
        outcome = await self.run.outcome()
        if outcome.status == "error":
            raise RunFailed(str(outcome.error or "The run failed."))
        if self.result.interrupts:
            for delta in self._say(INTERRUPT_KEY, waiting_for(self.result.interrupts)):
                yield delta
        elif not self._said:  # a graph without messages answers its values
            for delta in self._say(None, final_text(outcome.result)):
                yield delta
        self.result.text = "".join(self._said)

    async def finish(self) -> TurnResult:
        """Follow the run to its end (no streaming) and return what it left."""
        async for _ in self.happenings():
            pass
        return self.result

    def cancel_unless_done(self) -> None:
        """The client left: stop the run unless it has ended."""
        if not self.run.task.done():
            self.run.cancel()

    def _streamed(self, message: dict[str, Any]) -> list[TextDelta]:
        """The text of a token chunk (or of a whole AI message) as it is generated."""
        if message.get("type") not in ("AIMessageChunk", "ai"):
            return []
        # A chunk without an id goes on with the message being said.
        message_id = message.get("id") or self._speaking
        if message.get("type") == "ai" and message_id in self._spoken:
            return []
        return self._say(message_id, _text(message.get("content")))

    def _updated(self, update: Any) -> list[Happening]:
        """What a node's output adds: tool calls and results, the text of AI messages that
        were not streamed token by token, and the interrupts the run stopped at."""
        happenings: list[Happening] = []
        if isinstance(update, dict) and isinstance(update.get(INTERRUPT_KEY), list):
            self.result.interrupts += [
                i.get("value") if isinstance(i, dict) else i for i in update[INTERRUPT_KEY]
            ]
        for message in _update_messages(update):
            happenings += self._note(message)
            message_id = message.get("id")
            if message.get("type") == "ai" and (
                message_id is None or message_id not in self._spoken
            ):
                happenings += self._say(message_id, _text(message.get("content")))
        return happenings

    def _say(self, message_id: str | None, text: str) -> list[TextDelta]:
        """Text of the AI message `message_id` (None: one without id), after a blank line
        when another message spoke before it."""
        if not text:
            return []
        deltas = []
        if message_id is None or message_id != self._speaking:
            if self._said:
                deltas.append(TextDelta(ANSWER_SEPARATOR))
            self._speaking = message_id
            if message_id is not None:
                self._spoken.add(message_id)
        deltas.append(TextDelta(text))
        self._said += [delta.text for delta in deltas]
        return deltas

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


def waiting_for(interrupts: list[Any]) -> str:
    """The paragraph that ends the answer of a run stopped at `interrupt()`."""
    shown = "; ".join(
        value if isinstance(value, str) else dumps(value).decode() for value in interrupts
    )
    return f"[The run is waiting for input: {shown}]"


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
