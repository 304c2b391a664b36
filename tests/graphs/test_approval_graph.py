"""The approval graph on the real bundled model: every tool call waits for a human, who approves,
rejects with a reason or edits the arguments; the pause survives on a real SQLite file."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver
from langgraph.pregel import Pregel
from langgraph.types import Command

from threadloom.graphs.approval import build_approval_graph
from threadloom.models import ModelSpec, chat_model
from threadloom.tools.calculator import calculator
from threadloom.tools.search import make_search_tool

CONFIG = {"configurable": {"thread_id": "t"}}
OpenGraph = Callable[[], Any]


@pytest.fixture(scope="module")
def model() -> BaseChatModel:
    return chat_model(ModelSpec())


@pytest.fixture
def open_graph(model: BaseChatModel, tmp_path: Path) -> OpenGraph:
    """Opens the graph on the test's SQLite file; each opening is a fresh connection, as after
    a restart."""

    @asynccontextmanager
    async def opened() -> AsyncIterator[Pregel]:
        path = str(tmp_path / "checkpoints.sqlite")
        async with AsyncSqliteSaver.from_conn_string(path) as saver:
            builder = build_approval_graph(model, [calculator, make_search_tool()])
            yield builder.compile(checkpointer=saver)

    return opened


async def _pause(open_graph: OpenGraph, question: str) -> dict[str, Any]:
    """Ask, and return the tool call waiting for a decision; the connection is then closed."""
    async with open_graph() as graph:
        paused = await graph.ainvoke({"messages": [("user", question)]}, CONFIG)
        state = await graph.aget_state(CONFIG)
    assert state.next == ("tools",)
    (waiting,) = paused["__interrupt__"][0].value["tool_calls"]
    return waiting


async def _resume(open_graph: OpenGraph, decision: Any) -> list[Any]:
    async with open_graph() as graph:
        result = await graph.ainvoke(Command(resume=decision), CONFIG)
        assert (await graph.aget_state(CONFIG)).next == ()
    return result["messages"]


async def test_every_tool_call_waits_without_any_configuration(open_graph: OpenGraph) -> None:
    waiting = await _pause(open_graph, "Who is Leo DiCaprio's girlfriend?")

    assert waiting["name"] == "search"


async def test_approved_call_runs_and_the_model_answers_with_its_result(
    open_graph: OpenGraph,
) -> None:
    waiting = await _pause(open_graph, "compute 17*23")
    assert (waiting["name"], waiting["args"]) == ("calculator", {"expression": "17*23"})

    messages = await _resume(open_graph, {"approved": True})

    assert [type(m) for m in messages] == [HumanMessage, AIMessage, ToolMessage, AIMessage]
    assert messages[2].content == "391" and messages[2].tool_call_id == waiting["id"]
    assert "391" in messages[-1].content


async def test_rejected_call_never_runs_and_the_model_reads_the_reason(
    open_graph: OpenGraph,
) -> None:
    waiting = await _pause(open_graph, "compute 17*23")

    messages = await _resume(open_graph, {"approved": False, "reason": "Not with my budget."})

    assert [type(m) for m in messages] == [HumanMessage, AIMessage, ToolMessage, AIMessage]
    refusal = messages[2]
    assert refusal.status == "error" and refusal.tool_call_id == waiting["id"]
    assert "not approve" in refusal.content and "Not with my budget." in refusal.content
    assert not messages[-1].tool_calls  # the model answered after reading the refusal


async def test_edited_arguments_run_instead_of_the_models(open_graph: OpenGraph) -> None:
    waiting = await _pause(open_graph, "compute 17*23")

    edited = {**waiting, "args": {"expression": "12*7"}}
    messages = await _resume(open_graph, [edited])

    assert messages[2].content == "84" and messages[2].tool_call_id == waiting["id"]
    assert "84" in messages[-1].content and "391" not in messages[-1].content


async def test_an_unreadable_decision_is_asked_again(open_graph: OpenGraph) -> None:
    await _pause(open_graph, "compute 17*23")

    async with open_graph() as graph:
        again = await graph.ainvoke(Command(resume={"action": "approve"}), CONFIG)
    assert "Resume a tool approval" in again["__interrupt__"][0].value["error"]

    messages = await _resume(open_graph, {"approved": True})
    assert "391" in messages[-1].content
