"""The tools node: runs every requested call; any failure becomes a ToolMessage, never a crash."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from langchain_core.messages import AIMessage, ToolMessage
from langchain_core.runnables import RunnableConfig
from langchain_core.tools import BaseTool


class ToolRunner:
    """Executes the tool calls of the last AI message, concurrently, each with a time limit."""

    def __init__(self, tools: Sequence[BaseTool], timeout_s: float = 30.0) -> None:
        self.tools = {tool.name: tool for tool in tools}
        self.timeout_s = timeout_s

    async def __call__(self, state: dict[str, Any], config: RunnableConfig) -> dict[str, Any]:
        last = state["messages"][-1]
        if not isinstance(last, AIMessage):
            return {"messages": []}
        results = await asyncio.gather(
            *(self._run(call, config) for call in last.tool_calls)
        )
        rejected = [self._reject(bad) for bad in last.invalid_tool_calls]
        return {"messages": [*results, *rejected]}

    async def _run(self, call: dict[str, Any], config: RunnableConfig) -> ToolMessage:
        name, call_id = call["name"], call.get("id") or ""
        tool = self.tools.get(name)
        if tool is None:
            known = ", ".join(sorted(self.tools)) or "none"
            return _error(name, call_id, f"Unknown tool {name!r}. Available tools: {known}.")
        try:
            output = await asyncio.wait_for(
                tool.ainvoke(call.get("args") or {}, config), self.timeout_s
            )
        except TimeoutError:
            return _error(name, call_id, f"Tool {name!r} took longer than {self.timeout_s:g} s.")
        except Exception as exc:  # a tool's failure is information for the model
            return _error(name, call_id, f"Tool {name!r} failed: {_describe(exc)}")
        content = output if isinstance(output, str) else str(output)
        return ToolMessage(content=content, name=name, tool_call_id=call_id)

    @staticmethod
    def _reject(bad: dict[str, Any]) -> ToolMessage:
        name = bad.get("name") or "unknown"
        reason = bad.get("error") or "the tool call could not be parsed"
        return _error(name, bad.get("id") or "", f"Invalid tool call: {reason}. Try again.")


def _error(name: str, call_id: str, text: str) -> ToolMessage:
    return ToolMessage(content=f"Error: {text}", name=name, tool_call_id=call_id, status="error")


def _describe(exc: Exception) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
