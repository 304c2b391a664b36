"""The tools node: runs every requested call; any failure becomes a ToolMessage, never a crash.

Calls to tools that need approval (the graph's own `approve_tools`, or the run's, see
`graphs.run_options`) first pause the run with an interrupt whose value lists them as
`tool_calls`, and asks in the human-interrupt shapes Agent Inbox and agent-chat-ui render with
buttons (`graphs.human_review`). The run resumes with `{"approved": true}`, `{"approved": false,
"reason": "..."}` (each waiting call is answered with a refusal that the model reads as the
tool's result), a list of edited calls to run instead (`[{"name": ..., "args": ..., "id": ...}]`;
one with `"refused": "reason"` is refused), or a UI's answer (`human_review.decision_of`).
Anything else is asked again: the new interrupt's value adds an `error` that says what was
wrong.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Collection, Sequence
from typing import Any, Literal

from langchain_core.messages import AIMessage, ToolMessage
from langchain_core.runnables import RunnableConfig
from langchain_core.tools import BaseTool
from langgraph.types import interrupt

from threadloom.graphs.human_review import InvalidReview, decision_of, review_request
from threadloom.graphs.run_options import ALL_TOOLS, run_options
from threadloom.graphs.tool_call_observer import UNKNOWN_TOOL, report_tool_call

ToolCall = dict[str, Any]


class InvalidApproval(ValueError):
    """A tool approval was resumed with something other than a decision or edited calls; the
    message becomes the `error` of the interrupt that asks again."""


class ToolRunner:
    """Executes the tool calls of the last AI message, concurrently, each with a time limit.

    `approve_tools` names the tools whose calls always wait for a human (`"*"`: every tool),
    whatever the run's configuration says; a run may add more with `approve_tools`.
    """

    def __init__(
        self,
        tools: Sequence[BaseTool],
        timeout_s: float = 30.0,
        approve_tools: Collection[str] | Literal["*"] = (),
    ) -> None:
        if isinstance(approve_tools, str) and approve_tools != ALL_TOOLS:
            raise ValueError(f'approve_tools is a list of tool names or "*", not {approve_tools!r}')
        self.tools = {tool.name: tool for tool in tools}
        self.timeout_s = timeout_s
        self.approve_all = approve_tools == ALL_TOOLS
        self.approve_tools = frozenset(() if self.approve_all else approve_tools)

    async def __call__(self, state: dict[str, Any], config: RunnableConfig) -> dict[str, Any]:
        last = state["messages"][-1]
        if not isinstance(last, AIMessage):
            return {"messages": []}
        options = run_options(config)
        allowed = options.offered(self.tools)

        def needs_approval(name: str) -> bool:
            return self.approve_all or name in self.approve_tools or options.needs_approval(name)

        decided = _decide(last.tool_calls, needs_approval)
        results = await asyncio.gather(
            *(self._run(call, allowed, config) for call in decided if isinstance(call, dict))
        )
        ran = iter(results)
        answers = [call if isinstance(call, ToolMessage) else next(ran) for call in decided]
        for refused in (call for call in decided if isinstance(call, ToolMessage)):
            report_tool_call(self._label(refused.name), "refused")
        rejected = [self._reject(bad) for bad in last.invalid_tool_calls]
        for bad in last.invalid_tool_calls:
            report_tool_call(self._label(bad.get("name")), "invalid")
        return {"messages": [*answers, *rejected]}

    async def _run(self, call: ToolCall, allowed: list[str], config: RunnableConfig) -> ToolMessage:
        message, outcome = await self._outcome(call, allowed, config)
        report_tool_call(self._label(call["name"]), outcome)
        return message

    async def _outcome(
        self, call: ToolCall, allowed: list[str], config: RunnableConfig
    ) -> tuple[ToolMessage, str]:
        name, call_id = call["name"], call.get("id") or ""
        tool = self.tools.get(name) if name in allowed else None
        if tool is None:
            known = ", ".join(sorted(allowed)) or "none"
            text = f"Unknown tool {name!r}. Available tools: {known}."
            return _error(name, call_id, text), "unknown_tool"
        # Invoked with the whole call, a tool answers with its ToolMessage, which carries the
        # tool's own error status (an MCP tool's `isError`) and artifact.
        tool_call = {"type": "tool_call", "name": name, "args": call.get("args") or {}}
        too_long = _error(name, call_id, f"Tool {name!r} took longer than {self.timeout_s:g} s.")
        deadline = asyncio.get_running_loop().time() + self.timeout_s
        try:
            output = await asyncio.wait_for(
                tool.ainvoke({**tool_call, "id": call_id}, config), self.timeout_s
            )
        except TimeoutError:
            return too_long, "timeout"
        except Exception as exc:  # a tool's failure is information for the model
            # A tool stopped at the deadline may fail its own way rather than as cancelled
            # (an MCP client cut off while it starts its server raises its broken stream).
            if asyncio.get_running_loop().time() >= deadline:
                return too_long, "timeout"
            return _error(name, call_id, f"Tool {name!r} failed: {_describe(exc)}"), "error"
        if isinstance(output, ToolMessage):
            answer = output.model_copy(update={"content": _as_text(output.content), "name": name})
            return answer, "error" if output.status == "error" else "success"
        content = output if isinstance(output, str) else str(output)
        return ToolMessage(content=content, name=name, tool_call_id=call_id), "success"

    def _label(self, name: str | None) -> str:
        # Names the model made up must not become metric labels (unbounded cardinality).
        return name if name in self.tools else UNKNOWN_TOOL

    @staticmethod
    def _reject(bad: dict[str, Any]) -> ToolMessage:
        name = bad.get("name") or "unknown"
        reason = bad.get("error") or "the tool call could not be parsed"
        # Show the model what it wrote: merged stream chunks may have lost the parser's reason.
        wrote = f" The arguments were: {bad['args']}." if bad.get("args") else ""
        text = f"Invalid tool call: {reason}.{wrote} Write a JSON object of arguments."
        return _error(name, bad.get("id") or "", text)


def _decide(
    calls: list[ToolCall], needs_approval: Callable[[str], bool]
) -> list[ToolCall | ToolMessage]:
    """The calls to run, in order; a call a human refused is already answered by a message.

    A resume value that is no decision is answered by asking again, the interrupt's value then
    carrying an `error`: LangGraph keeps a resume value once given, so failing the run instead
    would make every later resume of this call read the same unusable value.
    """
    waiting = [call for call in calls if needs_approval(call["name"])]
    if not waiting:
        return list(calls)
    question = review_request(waiting)
    decision = interrupt(question)
    while True:
        try:
            return _apply(decision_of(decision, waiting), calls, waiting)
        except (InvalidApproval, InvalidReview) as exc:
            decision = interrupt({**question, "error": str(exc)})


def _apply(
    decision: Any, calls: list[ToolCall], waiting: list[ToolCall]
) -> list[ToolCall | ToolMessage]:
    if isinstance(decision, list):
        edited = _edited_calls(decision, waiting)
        return [edited.get(call.get("id"), call) if call in waiting else call for call in calls]
    if isinstance(decision, dict) and isinstance(decision.get("approved"), bool):
        if decision["approved"]:
            return list(calls)
        reason = decision.get("reason")
        return [_refusal(call, reason) if call in waiting else call for call in calls]
    raise InvalidApproval(
        'Resume a tool approval with {"approved": true}, {"approved": false, "reason": "..."} '
        f"or a list of edited tool calls; got {decision!r}."
    )


def _edited_calls(edited: list[Any], waiting: list[ToolCall]) -> dict[Any, ToolCall | ToolMessage]:
    """Each waiting call's replacement by id (an edit without an id replaces the call at its
    position); a waiting call left out of the list is refused."""
    if not all(isinstance(call, dict) and isinstance(call.get("name"), str) for call in edited):
        raise InvalidApproval('Each edited tool call needs a "name" (and "args", "id").')
    replacements: dict[Any, ToolCall | ToolMessage] = {
        call.get("id"): _refusal(call, "left out of the edited calls") for call in waiting
    }
    for position, call in enumerate(edited):
        fallback = waiting[position].get("id") if position < len(waiting) else None
        call_id = call.get("id") or fallback
        if call_id not in replacements:
            raise InvalidApproval(
                f"Edited tool call id {call_id!r} matches none of the calls waiting for approval."
            )
        if isinstance(call.get("refused"), str):
            replacements[call_id] = _refusal(call, call["refused"])
        else:
            replacements[call_id] = {**call, "args": call.get("args") or {}, "id": call_id}
    return replacements


def _refusal(call: ToolCall, reason: str | None) -> ToolMessage:
    because = f" Reason: {reason}" if reason else ""
    text = f"The user did not approve this call to {call['name']!r}; it was not run.{because}"
    return ToolMessage(
        content=text, name=call["name"], tool_call_id=call.get("id") or "", status="error"
    )


def _error(name: str, call_id: str, text: str) -> ToolMessage:
    return ToolMessage(content=f"Error: {text}", name=name, tool_call_id=call_id, status="error")


def _as_text(content: str | list[Any]) -> str | list[Any]:
    """Text blocks (as MCP tools answer) joined into one string, which every chat template
    renders; content with images or files stays as blocks."""
    if isinstance(content, str):
        return content
    if all(isinstance(block, dict) and block.get("type") == "text" for block in content):
        return "\n".join(block["text"] for block in content)
    return content


def _describe(exc: Exception) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
