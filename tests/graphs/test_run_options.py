"""An assistant's configuration changes the run: system prompt, offered tools, tool approvals."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.messages import AIMessage, SystemMessage, ToolMessage
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.types import Command
from pydantic import Field

from tests.fakes import ScriptedChatModel
from threadloom.graphs import build_graph
from threadloom.graphs.run_options import InvalidRunOptions, run_options
from threadloom.tools import get_tools


def _calls(*calls: tuple[str, dict[str, Any], str]) -> AIMessage:
    return AIMessage(
        content="", tool_calls=[{"name": n, "args": a, "id": i} for n, a, i in calls]
    )


def _graph(model: ScriptedChatModel, tools: list[str] | None = None) -> Any:
    return build_graph(
        model, get_tools(tools or ["calculator", "search"]), system_prompt="Default."
    ).compile(checkpointer=InMemorySaver())


def _config(**configurable: Any) -> dict[str, Any]:
    return {"configurable": {"thread_id": "t", **configurable}}


class _RecordingModel(ScriptedChatModel):
    """Records the tools each `bind_tools` offered."""

    offered: list[list[str]] = Field(default_factory=list)

    def bind_tools(self, tools: Any, **kwargs: Any) -> _RecordingModel:
        self.offered.append([tool.name for tool in tools])
        return self


async def test_system_prompt_from_the_configuration_replaces_the_default() -> None:
    model = ScriptedChatModel(replies=[AIMessage("ok")])

    await _graph(model).ainvoke(
        {"messages": [("user", "hi")]}, _config(system_prompt="Answer in French.")
    )

    assert model.seen[0][0] == SystemMessage(content="Answer in French.", id=model.seen[0][0].id)


async def test_default_system_prompt_without_configuration() -> None:
    model = ScriptedChatModel(replies=[AIMessage("ok")])

    await _graph(model).ainvoke({"messages": [("user", "hi")]}, _config())

    assert isinstance(model.seen[0][0], SystemMessage) and model.seen[0][0].content == "Default."


async def test_tool_subset_limits_what_the_model_is_offered_and_may_call() -> None:
    model = _RecordingModel(
        replies=[_calls(("search", {"query": "x"}, "c1")), AIMessage("fine")]
    )

    result = await _graph(model).ainvoke(
        {"messages": [("user", "hi")]}, _config(tools=["calculator"])
    )

    assert model.offered == [["calculator"]]
    refused = result["messages"][2]
    assert refused.status == "error" and "Unknown tool 'search'" in refused.content
    assert "Available tools: calculator." in refused.content


async def test_unknown_tool_in_the_subset_fails_with_a_clear_error() -> None:
    model = ScriptedChatModel(replies=[AIMessage("never")])

    with pytest.raises(InvalidRunOptions, match=r"unknown tools \['weather'\]"):
        await _graph(model).ainvoke({"messages": [("user", "hi")]}, _config(tools=["weather"]))


@pytest.mark.parametrize(
    ("configurable", "message"),
    [
        ({"system_prompt": 3}, "system_prompt must be a string"),
        ({"tools": "calculator"}, "tools must be a list of tool names"),
        ({"approve_tools": [1]}, 'approve_tools must be a list of tool names or "\\*"'),
    ],
)
def test_options_of_the_wrong_type_are_refused(configurable: dict, message: str) -> None:
    with pytest.raises(InvalidRunOptions, match=message):
        run_options({"configurable": configurable})


async def _paused(calls: AIMessage, approve: Any) -> tuple[Any, dict[str, Any], Any]:
    model = ScriptedChatModel(replies=[calls, AIMessage("done")])
    graph = _graph(model)
    config = _config(approve_tools=approve)
    result = await graph.ainvoke({"messages": [("user", "hi")]}, config)
    return graph, config, result


async def test_a_call_needing_approval_pauses_the_run_before_any_tool_runs() -> None:
    calls = _calls(("calculator", {"expression": "2+2"}, "a"), ("search", {"query": "q"}, "b"))
    graph, config, result = await _paused(calls, ["calculator"])

    (pending,) = result["__interrupt__"]
    assert pending.value["tool_calls"] == [
        {"name": "calculator", "args": {"expression": "2+2"}, "id": "a", "type": "tool_call"}
    ]
    assert [request["name"] for request in pending.value["action_requests"]] == ["calculator"]
    state = await graph.aget_state(config)
    assert state.next == ("tools",)
    assert not any(isinstance(m, ToolMessage) for m in state.values["messages"])


async def test_approved_calls_run() -> None:
    calls = _calls(("calculator", {"expression": "2+2"}, "a"), ("search", {"query": "q"}, "b"))
    graph, config, _ = await _paused(calls, "*")

    result = await graph.ainvoke(Command(resume={"approved": True}), config)

    answers = [m for m in result["messages"] if isinstance(m, ToolMessage)]
    assert [(m.tool_call_id, m.status) for m in answers] == [("a", "success"), ("b", "success")]
    assert answers[0].content == "4"
    assert result["messages"][-1].content == "done"


async def test_refused_calls_are_answered_with_a_refusal_and_the_others_run() -> None:
    calls = _calls(("calculator", {"expression": "2+2"}, "a"), ("search", {"query": "q"}, "b"))
    graph, config, _ = await _paused(calls, ["search"])

    result = await graph.ainvoke(
        Command(resume={"approved": False, "reason": "no web"}), config
    )

    first, second = [m for m in result["messages"] if isinstance(m, ToolMessage)]
    assert (first.tool_call_id, first.content) == ("a", "4")
    assert second.tool_call_id == "b" and second.status == "error"
    assert "did not approve" in second.content and "no web" in second.content


async def test_edited_calls_run_instead_of_the_requested_ones() -> None:
    graph, config, _ = await _paused(_calls(("calculator", {"expression": "2+2"}, "a")), "*")

    result = await graph.ainvoke(
        Command(resume=[{"name": "calculator", "args": {"expression": "3*3"}}]), config
    )

    (answer,) = [m for m in result["messages"] if isinstance(m, ToolMessage)]
    assert (answer.tool_call_id, answer.content) == ("a", "9")


@pytest.mark.parametrize(
    ("resume", "problem"),
    [
        ("yes", "Resume a tool approval with"),
        ({"approved": "yes"}, "Resume a tool approval with"),
        ([{"args": {}}], 'needs a "name"'),
        ([{"name": "calculator", "id": "zzz"}], "matches none of the calls"),
    ],
)
async def test_a_resume_that_is_no_decision_asks_again_saying_why(
    resume: Any, problem: str
) -> None:
    graph, config, _ = await _paused(_calls(("calculator", {"expression": "1+1"}, "a")), "*")

    again = await graph.ainvoke(Command(resume=resume), config)

    (pending,) = again["__interrupt__"]
    assert problem in pending.value["error"]
    assert [call["id"] for call in pending.value["tool_calls"]] == ["a"]
    assert not [m for m in again["messages"] if isinstance(m, ToolMessage)]
    result = await graph.ainvoke(Command(resume={"approved": True}), config)
    assert [m.content for m in result["messages"] if isinstance(m, ToolMessage)] == ["2"]


async def test_tools_the_graph_itself_names_wait_without_any_configuration() -> None:
    model = ScriptedChatModel(replies=[_calls(("calculator", {"expression": "2+2"}, "a"))])
    graph = build_graph(
        model, get_tools(["calculator", "search"]), approve_tools=["calculator"]
    ).compile(checkpointer=InMemorySaver())

    result = await graph.ainvoke({"messages": [("user", "hi")]}, _config())

    assert result["__interrupt__"][0].value["tool_calls"][0]["id"] == "a"


def test_approve_tools_is_a_list_or_star() -> None:
    with pytest.raises(ValueError, match="list of tool names"):
        build_graph(ScriptedChatModel(replies=[]), get_tools(["calculator"]), approve_tools="calc")
