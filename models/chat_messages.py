"""LangChain messages -> the message dicts a chat template renders, shaped to its needs.

Templates disagree on details that make ``apply_chat_template`` fail or mislead the model:
arguments as a dict or a JSON string, ``None`` content, strict user/assistant alternation,
9-character call ids (Mistral), no system role, or a history branch that does not write calls
the way the model must write them. :func:`traits_for` reads these needs from the template
text; :func:`to_template_messages` converts a conversation accordingly.

Example:
    >>> traits = traits_for(tokenizer.chat_template)
    >>> fmt = detect_format(tokenizer.chat_template)
    >>> prompt = tokenizer.apply_chat_template(
    ...     to_template_messages(messages, fmt, traits), tools=tools, tokenize=False,
    ...     add_generation_prompt=True)
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from transformers.utils.chat_template_utils import render_jinja_template

from threadloom.models.tool_calls import FORMATS, detect_format, parse_tool_calls
from threadloom.models.tool_calls.writing import write_calls

logger = logging.getLogger(__name__)

# Signs that a template reads arguments as a mapping (iterates, tests or serialises them).
_ARGUMENTS_AS_MAPPING = re.compile(
    r"arguments\W{0,3}\s*\|\s*(?:tojson|items)"
    r"|arguments\s+is\s+mapping"
    r"|arguments\.items\(\)"
    r"|\bin\s+[\w.]*arguments\b"
    r"|function\s*\|\s*tojson"
)
_ALTERNATION = re.compile(r"roles must alternate", re.IGNORECASE)
_NO_SYSTEM = re.compile(r"system role not supported", re.IGNORECASE)
_ID_LENGTH = re.compile(r"id\s*\|\s*length\s*!=\s*(\d+)")
_PROBE_CALL = {"name": "probe_tool", "args": {"probe_arg": "probe value"}, "id": "call_probe"}


@dataclass(frozen=True)
class TemplateTraits:
    """What a chat template needs from the messages it renders.

    Attributes:
        arguments_as_json: the template concatenates ``arguments`` as text, so it gets a JSON
            string (DeepSeek V3.1, Phi-4-mini); otherwise a dict.
        strict_alternation: the template raises unless user and assistant turns alternate
            (tool traffic aside), so turns are merged or empty ones inserted.
        system_role: the template accepts a system message; if not, it is put in front of the
            first user message.
        call_id_length: call ids must have exactly this many characters (Mistral: 9).
        calls_in_content: the template's history does not write calls in the markup the model
            must use, so past calls are written into the content instead.
    """

    arguments_as_json: bool = False
    strict_alternation: bool = False
    system_role: bool = True
    call_id_length: int | None = None
    calls_in_content: bool = False


def traits_for(chat_template: str, fmt: str | None = None) -> TemplateTraits:
    """Read a template's needs from its text; ``fmt`` defaults to the detected format.

    Whether past calls render faithfully is found by rendering one probe call and parsing it
    back, which catches templates whose history branch differs from the instructed format.
    """
    fmt = fmt or detect_format(chat_template)
    id_length = _ID_LENGTH.search(chat_template)
    traits = TemplateTraits(
        arguments_as_json="arguments" in chat_template
        and not _ARGUMENTS_AS_MAPPING.search(chat_template),
        strict_alternation=bool(_ALTERNATION.search(chat_template)),
        system_role=not _NO_SYSTEM.search(chat_template),
        call_id_length=int(id_length.group(1)) if id_length else None,
    )
    if fmt in FORMATS and not _renders_calls_faithfully(chat_template, fmt, traits):
        traits = replace(traits, calls_in_content=True)
    return traits


def to_template_messages(
    messages: Sequence[BaseMessage], fmt: str, traits: TemplateTraits | None = None
) -> list[dict[str, Any]]:
    """Convert a conversation into the dicts ``apply_chat_template(..., tools=...)`` expects.

    Assistant calls become ``{"type": "function", "id", "function": {"name", "arguments"}}``;
    tool results become ``role: "tool"`` with ``tool_call_id`` and ``name``; assistant content
    is never None. Invalid calls in the history are shown as the raw text the model wrote, so
    the error message in the following tool result makes sense. All system messages are
    joined into one at the front, where every template looks for it.
    """
    traits = traits or TemplateTraits()
    converted = [_convert(message, fmt, traits) for message in messages]
    system = [m["content"] for m in converted if m["role"] == "system"]
    rest = [m for m in converted if m["role"] != "system"]
    if system and traits.system_role:
        rest.insert(0, {"role": "system", "content": "\n\n".join(system)})
    elif system:
        rest = _prepend_to_first_user(rest, "\n\n".join(system))
    return _alternate(rest) if traits.strict_alternation else rest


def _convert(message: BaseMessage, fmt: str, traits: TemplateTraits) -> dict[str, Any]:
    if isinstance(message, ToolMessage):
        return {
            "role": "tool",
            "tool_call_id": _call_id(message.tool_call_id, traits),
            "name": message.name or "",
            "content": message.text,
        }
    if isinstance(message, AIMessage):
        return _assistant(message, fmt, traits)
    role = {"human": "user", "system": "system"}.get(message.type, message.type)
    return {"role": role, "content": message.text}


def _assistant(message: AIMessage, fmt: str, traits: TemplateTraits) -> dict[str, Any]:
    parts = [message.text]
    if message.tool_calls and traits.calls_in_content:
        parts.append(write_calls(message.tool_calls, fmt))
    parts += [bad.get("args") or bad.get("name") or "" for bad in message.invalid_tool_calls]
    converted: dict[str, Any] = {
        "role": "assistant",
        "content": "\n".join(part for part in parts if part),
    }
    reasoning = message.additional_kwargs.get("reasoning_content")
    if isinstance(reasoning, str) and reasoning:
        converted["reasoning_content"] = reasoning
    if message.tool_calls and not traits.calls_in_content:
        converted["tool_calls"] = [
            {
                "type": "function",
                "id": _call_id(call.get("id") or "", traits),
                "function": {
                    "name": call["name"],
                    "arguments": json.dumps(call["args"], ensure_ascii=False)
                    if traits.arguments_as_json
                    else call["args"],
                },
            }
            for call in message.tool_calls
        ]
    return converted


def _call_id(call_id: str, traits: TemplateTraits) -> str:
    """Ids of the length the template demands; the same id always maps to the same short id."""
    if traits.call_id_length is None or len(call_id) == traits.call_id_length:
        return call_id
    digest = hashlib.sha256(call_id.encode()).hexdigest()
    return digest[: traits.call_id_length]


def _prepend_to_first_user(messages: list[dict[str, Any]], text: str) -> list[dict[str, Any]]:
    for i, message in enumerate(messages):
        if message["role"] == "user":
            merged = {**message, "content": f"{text}\n\n{message['content']}"}
            return [*messages[:i], merged, *messages[i + 1 :]]
    return [{"role": "user", "content": text}, *messages]


def _alternate(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """User and assistant turns alternate, starting with the user; tool traffic aside.

    Adjacent turns of the same role are merged; where tool traffic sits between two turns of
    the same role (a user asking again after tool results), an empty turn of the other role
    is inserted, since merging across the tool results would reorder the conversation.
    """
    out: list[dict[str, Any]] = []
    expected = "user"
    for message in messages:
        if message["role"] not in ("user", "assistant") or "tool_calls" in message:
            out.append(message)
            continue
        if message["role"] != expected:
            previous = out[-1] if out else None
            if previous is not None and _is_turn(previous) and previous["role"] == message["role"]:
                out[-1] = {**previous, "content": f"{previous['content']}\n\n{message['content']}"}
                continue
            out.append({"role": expected, "content": ""})
        out.append(message)
        expected = "assistant" if message["role"] == "user" else "user"
    return out


def _is_turn(message: dict[str, Any]) -> bool:
    return message["role"] in ("user", "assistant") and "tool_calls" not in message


def _renders_calls_faithfully(chat_template: str, fmt: str, traits: TemplateTraits) -> bool:
    """Render a user turn and an assistant call, and check the call parses back."""
    history = to_template_messages(
        [HumanMessage("probe question"), AIMessage("", tool_calls=[_PROBE_CALL])], fmt, traits
    )
    try:
        prompt = _render(chat_template, history[:-1], add_generation_prompt=True)
        full = _render(chat_template, history, add_generation_prompt=False)
    except Exception as exc:  # a template's own error: assume the history is not usable
        logger.warning("chat template failed to render a probe call: %s", exc)
        return False
    shared = len(_common_prefix(prompt, full))
    calls = parse_tool_calls(full[shared:], fmt)
    return [(c["name"], c["args"]) for c in calls] == [(_PROBE_CALL["name"], _PROBE_CALL["args"])]


def _render(chat_template: str, messages: list[dict[str, Any]], **kwargs: Any) -> str:
    # Empty special tokens: templates concatenate them, and the probe needs only the calls.
    rendered, _ = render_jinja_template(
        conversations=[messages], chat_template=chat_template, bos_token="", eos_token="", **kwargs
    )
    return rendered[0]


def _common_prefix(a: str, b: str) -> str:
    size = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        size += 1
    return a[:size]
