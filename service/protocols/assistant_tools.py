"""Assistants as tools, the way MCP clients see them: each assistant the caller may use is a
tool named after it, whose input is its graph's input; calling the tool is a stateless run
through the run manager, answered with the last AI message's text and the final values.

The shapes follow LangGraph Server's `/mcp`: names are the assistant names made valid MCP tool
names (first one wins when two normalise alike: the system assistant, created first); a
message list in the input schema becomes the user's message as one string, which the graph's
`add_messages` reducer turns into a human message, or (as LangGraph Server also accepts) a
list of messages.
"""

from __future__ import annotations

import asyncio
import copy
import re
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any

import jsonschema
from langchain_core.messages import AIMessage
from langgraph.pregel import Pregel

from threadloom.service.assistants import Assistants
from threadloom.service.errors import ServiceError
from threadloom.service.http.json_codec import dumps, loads
from threadloom.service.runs.manager import RunManager
from threadloom.service.schemas.assistants import AssistantSearch
from threadloom.service.schemas.runs import RunCreate
from threadloom.service.storage.assistants import Assistant

# Tool names allowed by the MCP specification (2025-11-25).
_NOT_IN_TOOL_NAME = re.compile(r"[^A-Za-z0-9_.-]")
MAX_TOOL_NAME = 128
MAX_TOOLS = 1000
_MESSAGE_TYPES = re.compile(r"^#/\$defs/(AI|Human|Chat|System|Function|Tool)Message(Chunk)?$")

# A message list as LangGraph's `add_messages` takes it: message dicts (or plain strings).
MESSAGE_LIST = {
    "type": "array",
    "items": {"anyOf": [{"type": "object"}, {"type": "string"}]},
    "minItems": 1,
}

GraphOf = Callable[[Assistant], AbstractAsyncContextManager[Pregel]]
"""The compiled graph an assistant runs (made for it, if its graph is a factory)."""


class ToolCallError(Exception):
    """A tool call the server could not carry out; the message is what the client is shown."""


@dataclass(frozen=True, slots=True)
class AssistantTool:
    name: str
    description: str
    input_schema: dict[str, Any]
    assistant: Assistant


@dataclass(frozen=True, slots=True)
class ToolAnswer:
    text: str
    values: dict[str, Any]


def tool_name(assistant_name: str) -> str:
    """An assistant's name as a valid MCP tool name (`My agent` → `My_agent`)."""
    name = re.sub(r"\s+", "_", assistant_name.strip())
    return _NOT_IN_TOOL_NAME.sub("", name)[:MAX_TOOL_NAME]


def input_schema(graph: Pregel) -> dict[str, Any]:
    """The graph's input JSON schema, as a client fills it in: a message list becomes the
    user's message as text, and managed values (`remaining_steps`) are left out."""
    schema = copy.deepcopy(graph.get_input_jsonschema())
    schema.setdefault("type", "object")
    properties: dict[str, Any] = schema.setdefault("properties", {})
    managed = set(getattr(getattr(graph, "builder", None), "managed", None) or ())
    for key in managed:
        properties.pop(key, None)
    if "required" in schema:
        schema["required"] = [key for key in schema["required"] if key not in managed]
    simplified = False
    for key, prop in properties.items():
        if _is_message_list(prop):
            properties[key] = {
                "anyOf": [{"type": "string"}, MESSAGE_LIST],
                "title": prop.get("title", key),
                "description": "The user message to send to the agent, or a list of messages "
                '({"role": "user", "content": "..."}, as LangGraph takes them).',
            }
            simplified = True
    if simplified:
        # The message classes' definitions are then unused, and large.
        schema.pop("$defs", None)
    return schema


def _is_message_list(prop: dict[str, Any]) -> bool:
    items = prop.get("items") or {}
    choices = items.get("oneOf") or items.get("anyOf") or []
    return prop.get("type") == "array" and any(
        _MESSAGE_TYPES.match(choice.get("$ref", "")) for choice in choices
    )


class AssistantTools:
    """The tools of the assistants the current caller may see (its own and the system ones)."""

    def __init__(self, runs: RunManager, assistants: Assistants, graph_of: GraphOf) -> None:
        self._runs = runs
        self._assistants = assistants
        self._graph_of = graph_of

    async def list(self) -> list[AssistantTool]:
        search = AssistantSearch(limit=MAX_TOOLS, sort_by="created_at", sort_order="asc")
        tools: dict[str, AssistantTool] = {}
        schemas: dict[str, dict[str, Any]] = {}  # by graph: many assistants share one
        for assistant in await self._assistants.visible(search):
            name = tool_name(assistant.name)
            if not name or name in tools:
                continue
            if assistant.graph_id not in schemas:
                async with self._graph_of(assistant) as graph:
                    schemas[assistant.graph_id] = input_schema(graph)
            tools[name] = AssistantTool(
                name=name,
                description=assistant.description
                or f"Runs the {assistant.name} assistant (graph {assistant.graph_id}).",
                input_schema=schemas[assistant.graph_id],
                assistant=assistant,
            )
        return list(tools.values())

    async def call(self, name: str, arguments: dict[str, Any]) -> ToolAnswer:
        """Run the assistant `name` on `arguments` (a stateless run) and wait for its end."""
        tool = next((tool for tool in await self.list() if tool.name == name), None)
        if tool is None:
            raise ToolCallError(f"Unknown tool: {name!r}. List the tools to see their names.")
        try:
            jsonschema.validate(arguments, tool.input_schema)
        except jsonschema.ValidationError as exc:
            where = ".".join(str(part) for part in exc.absolute_path)
            raise ToolCallError(
                f"Invalid arguments{f' at {where}' if where else ''}: {exc.message}"
            ) from None
        try:
            request = RunCreate.checked(assistant_id=tool.assistant.assistant_id, input=arguments)
            run = await self._runs.submit(None, request)
        except ServiceError as exc:
            raise ToolCallError(exc.detail) from None
        try:
            outcome = await run.outcome()
        except asyncio.CancelledError:
            run.cancel()  # the client gave up on the call
            raise
        if outcome.status != "success":
            error = (outcome.result or {}).get("__error__") or {}
            reason = error.get("message") or f"the run ended {outcome.status}"
            raise ToolCallError(f"The {tool.name} run failed: {reason}")
        values = outcome.result if isinstance(outcome.result, dict) else {}
        return ToolAnswer(_last_ai_text(values), loads(dumps(values)))


def _last_ai_text(values: dict[str, Any]) -> str:
    messages = values.get("messages")
    if not isinstance(messages, list):
        return ""
    return next((m.text for m in reversed(messages) if isinstance(m, AIMessage)), "")
