"""ReAct-JSON prompting: tool use for models whose chat template knows no tools (Zephyr).

The tools are described in the system prompt; the model answers with ``Thought:`` and an
``Action:`` JSON blob, generation stops at ``Observation:`` (:data:`REACT_STOP`), the tool result
comes back as an ``Observation:`` turn, and ``Final Answer:`` ends. :func:`parse_react` reads a
reply (streaming uses ``StreamSplitter("react")``); :func:`react_messages` rewrites a tool-using
history into plain turns that such a template can render.

Example:
    >>> history = react_messages(messages, tools=tool_schemas)
    >>> dicts = to_template_messages(history, "none", traits)
    >>> reply = parse_react(generate(dicts, stop=REACT_STOP))
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage, ToolMessage

from threadloom.models.tool_calls import REACT, ParsedReply, parse_reply
from threadloom.models.tool_calls.react_markup import ACTION, FINAL_ANSWER, OBSERVATION, THOUGHT

REACT_STOP = [OBSERVATION]

_INSTRUCTIONS = f"""You can use the following tools:

{{tools}}

To use a tool, reply in exactly this format and then stop:

{THOUGHT} why the tool is needed
{ACTION}
```json
{{{{"action": "<tool name>", "action_input": {{{{<the arguments as a JSON object>}}}}}}}}
```

The tool's result then comes back as "{OBSERVATION} <result>". You may use tools several times,
one action per reply. When you know the answer, reply:

{THOUGHT} what you concluded
{FINAL_ANSWER} the answer for the user"""


def react_system_prompt(tools: Sequence[dict[str, Any]]) -> str:
    """Instructions that teach ReAct-JSON tool use, from OpenAI-style tool schemas."""
    return _INSTRUCTIONS.format(tools="\n".join(_describe(tool) for tool in tools))


def parse_react(text: str) -> ParsedReply:
    """A ReAct reply: the action becomes a tool call, the final answer the content.

    The thought is reasoning; a broken action blob is an invalid call with the reason; text with
    neither action nor final answer is content. Never raises.
    """
    return parse_reply(text, REACT)


def react_messages(
    messages: Sequence[BaseMessage], tools: Sequence[dict[str, Any]] | None = None
) -> list[BaseMessage]:
    """Rewrite a conversation with tool calls as plain ReAct turns.

    Calls become ``Action:`` blobs in the assistant's text, tool results ``Observation:`` user
    turns (one per round of calls). With ``tools``, the ReAct instructions are added to the
    system message.
    """
    out: list[BaseMessage] = []
    for message in messages:
        if isinstance(message, ToolMessage):
            observation = f"{OBSERVATION} {message.text}"
            if out and isinstance(out[-1], HumanMessage) and out[-1].text.startswith(OBSERVATION):
                out[-1] = HumanMessage(f"{out[-1].text}\n{observation}")
            else:
                out.append(HumanMessage(observation))
        elif isinstance(message, AIMessage):
            out.append(AIMessage(_assistant_text(message)))
        else:
            out.append(message)
    if tools:
        out = _with_instructions(out, react_system_prompt(tools))
    return out


def _assistant_text(message: AIMessage) -> str:
    reasoning = message.additional_kwargs.get("reasoning_content")
    lines = [f"{THOUGHT} {reasoning}"] if isinstance(reasoning, str) and reasoning else []
    actions = [
        f"{ACTION}\n```json\n{_blob(call['name'], call['args'])}\n```"
        for call in message.tool_calls
    ]
    actions += [f"{ACTION}\n{bad.get('args') or ''}" for bad in message.invalid_tool_calls]
    if actions:
        if message.text:
            lines.append(message.text)
        lines += actions
    else:
        lines.append(f"{FINAL_ANSWER} {message.text}")
    return "\n".join(lines)


def _blob(name: str, args: dict[str, Any]) -> str:
    return json.dumps({"action": name, "action_input": args}, ensure_ascii=False)


def _with_instructions(messages: list[BaseMessage], instructions: str) -> list[BaseMessage]:
    if messages and isinstance(messages[0], SystemMessage):
        return [SystemMessage(f"{messages[0].text}\n\n{instructions}"), *messages[1:]]
    return [SystemMessage(instructions), *messages]


def _describe(tool: dict[str, Any]) -> str:
    spec = tool.get("function", tool)
    params = spec.get("parameters") or {}
    arguments = json.dumps(params.get("properties", {}), ensure_ascii=False)
    required = ", ".join(params.get("required", [])) or "none"
    description = spec.get("description", "").strip()
    return f"- {spec['name']}: {description}\n  arguments: {arguments}\n  required: {required}"
