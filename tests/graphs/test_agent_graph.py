"""The agent graph's logic with a scripted model: tool routing, tool errors, the step limit."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from langchain_core.messages import AIMessage, SystemMessage, ToolMessage
from langchain_core.tools import tool
from langgraph.checkpoint.memory import InMemorySaver

from tests.fakes import ScriptedChatModel
from threadloom.graphs import build_graph
from threadloom.graphs.agent import STEP_LIMIT_MESSAGE
from threadloom.tools import get_tools


def _call(name: str, args: dict[str, Any], call_id: str = "call_1") -> AIMessage:
    return AIMessage(content="", tool_calls=[{"name": name, "args": args, "id": call_id}])


async def _run(model: ScriptedChatModel, tools: list, **config: Any) -> list:
    graph = build_graph(model, tools, system_prompt="Be brief.").compile(
        checkpointer=InMemorySaver()
    )
    result = await graph.ainvoke(
        {"messages": [("user", "question")]},
        {"configurable": {"thread_id": "t"}, **config},
    )
    return result["messages"]


async def test_tool_call_runs_the_tool_and_feeds_the_result_back() -> None:
    reply = AIMessage("391")
    model = ScriptedChatModel(replies=[_call("calculator", {"expression": "17*23"}), reply])
    messages = await _run(model, get_tools(["calculator"]))
    tool_message = messages[2]
    assert isinstance(tool_message, ToolMessage)
    assert tool_message.content == "391" and tool_message.tool_call_id == "call_1"
    assert messages[-1].content == "391"
    # The second model call saw the tool result; the system prompt is sent, never stored.
    assert isinstance(model.seen[1][-1], ToolMessage)
    assert isinstance(model.seen[0][0], SystemMessage) and model.seen[0][0].content == "Be brief."
    assert not any(isinstance(m, SystemMessage) for m in messages)


async def test_unknown_tool_becomes_an_error_message_and_the_loop_goes_on() -> None:
    model = ScriptedChatModel(replies=[_call("weather", {"city": "Rome"}), AIMessage("sorry")])
    messages = await _run(model, get_tools(["calculator", "search"]))
    error = messages[2]
    assert error.status == "error"
    assert "Unknown tool 'weather'" in error.content and "calculator, search" in error.content
    assert messages[-1].content == "sorry"


async def test_failing_tool_becomes_an_error_message() -> None:
    model = ScriptedChatModel(replies=[_call("calculator", {"expression": "1/0"}), AIMessage("no")])
    messages = await _run(model, get_tools(["calculator"]))
    assert messages[2].status == "error"
    assert "Division by zero" in messages[2].content


async def test_wrong_argument_types_reach_the_model_as_an_error() -> None:
    model = ScriptedChatModel(replies=[_call("calculator", {"expr": 5}), AIMessage("retry")])
    messages = await _run(model, get_tools(["calculator"]))
    assert messages[2].status == "error" and "expression" in messages[2].content


async def test_invalid_tool_call_is_answered_with_its_parse_error() -> None:
    broken = AIMessage(
        content="",
        invalid_tool_calls=[
            {"name": None, "args": "{oops", "id": "call_9", "error": "the JSON is not valid"}
        ],
    )
    model = ScriptedChatModel(replies=[broken, AIMessage("fixed")])
    messages = await _run(model, get_tools(["calculator"]))
    assert messages[2].tool_call_id == "call_9" and messages[2].status == "error"
    assert "the JSON is not valid" in messages[2].content and "{oops" in messages[2].content
    assert messages[-1].content == "fixed"


async def test_parallel_calls_answer_in_order() -> None:
    both = AIMessage(
        content="",
        tool_calls=[
            {"name": "calculator", "args": {"expression": "2+2"}, "id": "a"},
            {"name": "calculator", "args": {"expression": "3*3"}, "id": "b"},
        ],
    )
    model = ScriptedChatModel(replies=[both, AIMessage("done")])
    messages = await _run(model, get_tools(["calculator"]))
    assert [(m.tool_call_id, m.content) for m in messages[2:4]] == [("a", "4"), ("b", "9")]


@pytest.mark.parametrize("limit", [5, 6, 7, 12])
async def test_step_limit_ends_with_a_clear_message_not_an_exception(limit: int) -> None:
    forever = _call("calculator", {"expression": "1+1"})
    model = ScriptedChatModel(replies=[forever], repeat_last=True)
    messages = await _run(model, get_tools(["calculator"]), recursion_limit=limit)
    assert messages[-1].content == STEP_LIMIT_MESSAGE.format(limit=limit)
    assert not messages[-1].tool_calls
    assert sum(isinstance(m, ToolMessage) for m in messages) >= (limit - 3) // 2


async def test_slow_tool_times_out_into_an_error_message() -> None:
    release = asyncio.Event()

    @tool
    async def slow(x: int) -> str:
        """Never finishes within the test."""
        await release.wait()
        return "late"

    model = ScriptedChatModel(replies=[_call("slow", {"x": 1}), AIMessage("gave up")])
    graph = build_graph(model, [slow], tool_timeout_s=0.05).compile()
    result = await graph.ainvoke({"messages": [("user", "q")]})
    assert "took longer than 0.05 s" in result["messages"][2].content
    assert result["messages"][-1].content == "gave up"
