"""From OpenAI requests to the graph's input: which messages are new, and on which thread and
checkpoint the conversation goes on.

Chat completions carry the whole conversation in every request. Without a thread the run is
stateless and gets all of it. On a thread (`X-Thread-Id` header or `metadata.thread_id`) the
server already holds the conversation: the messages after the request's last `assistant`
message are the new ones, and only they are added, so a client may send either the whole
conversation or just the new messages.

A Responses API response id names a point in a thread: `resp_` + the 32 hex digits of the
thread id and those of the run that answered. `previous_response_id` goes on from the last
checkpoint that run wrote, so a conversation can branch from any earlier response.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from starlette import status

from threadloom.service.protocols.openai.bodies import ChatMessage, ResponseInputItem
from threadloom.service.protocols.openai.error_shape import OpenAIError

RESPONSE_ID_PREFIX = "resp_"


def chat_input(messages: list[ChatMessage], *, on_thread: bool) -> list[dict[str, Any]]:
    """The messages to add to the graph's state: all of them, or on a thread the new ones."""
    if on_thread:
        last_reply = max((i for i, m in enumerate(messages) if m.role == "assistant"), default=-1)
        messages = messages[last_reply + 1 :]
        if not messages:
            raise OpenAIError(
                "messages: nothing new after the last assistant message. On a thread, send "
                "the new user (or tool) messages.",
                status.HTTP_400_BAD_REQUEST,
                param="messages",
            )
    return [_graph_message(message) for message in messages]


def responses_input(items: str | list[ResponseInputItem], instructions: str | None) -> list[dict]:
    """The Responses API's `input` (and `instructions`, as a system message) as messages."""
    messages: list[dict[str, Any]] = []
    if instructions:
        messages.append({"role": "system", "content": instructions})
    if isinstance(items, str):
        return [*messages, {"role": "user", "content": items}]
    for item in items:
        role = "system" if item.role == "developer" else item.role
        messages.append({"role": role, "content": text_of(item.content)})
    if not messages:
        raise OpenAIError(
            "input: give at least one message.", status.HTTP_400_BAD_REQUEST, param="input"
        )
    return messages


def thread_of_chat(header: str | None, metadata: dict[str, str] | None) -> str | None:
    """The thread a chat request names (header first), as a canonical UUID; None if none."""
    named = header or (metadata or {}).get("thread_id")
    if not named:
        return None
    try:
        return str(UUID(named))
    except ValueError:
        raise OpenAIError(
            f"Invalid thread id {named!r}: use a UUID (any new one starts a new thread).",
            status.HTTP_400_BAD_REQUEST,
            param="metadata.thread_id",
        ) from None


def response_id(thread_id: str, run_id: str) -> str:
    return RESPONSE_ID_PREFIX + UUID(thread_id).hex + UUID(run_id).hex


def response_point(value: str) -> tuple[str, str]:
    """The thread id and run id a response id names."""
    digits = value.removeprefix(RESPONSE_ID_PREFIX)
    try:
        if not value.startswith(RESPONSE_ID_PREFIX) or len(digits) != 64:
            raise ValueError(value)
        return str(UUID(digits[:32])), str(UUID(digits[32:]))
    except ValueError:
        raise previous_response_not_found(value) from None


def previous_response_not_found(value: str) -> OpenAIError:
    return OpenAIError(
        f"Previous response with id {value!r} not found: use the id of a response this server "
        "made (stored, i.e. without store=false).",
        status.HTTP_404_NOT_FOUND,
        param="previous_response_id",
        code="previous_response_not_found",
    )


def text_of(content: str | list[dict[str, Any]] | None) -> str:
    """Content parts (`text`, `input_text`, `output_text`) joined into one text."""
    if content is None or isinstance(content, str):
        return content or ""
    return "".join(str(part.get("text", "")) for part in content if "text" in part)


def _graph_message(message: ChatMessage) -> dict[str, Any]:
    converted: dict[str, Any] = {
        "role": "system" if message.role == "developer" else message.role,
        "content": text_of(message.content),
    }
    for name in ("name", "tool_calls", "tool_call_id"):
        if (value := getattr(message, name)) is not None:
            converted[name] = value
    return converted
