"""The supervisor on the real bundled model: routing, sub-agents as subgraphs, their streams and
state, on a real SQLite checkpointer."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, ToolMessage
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver
from langgraph.pregel import Pregel
from langgraph.types import Command

from threadloom.graphs.supervisor import build_supervisor
from threadloom.models import ModelSpec, chat_model
from threadloom.tools.calculator import calculator
from threadloom.tools.search import make_search_tool


@pytest.fixture(scope="module")
def model() -> BaseChatModel:
    return chat_model(ModelSpec())


@pytest.fixture
async def graph(model: BaseChatModel, tmp_path: Path) -> AsyncIterator[Pregel]:
    async with AsyncSqliteSaver.from_conn_string(str(tmp_path / "checkpoints.sqlite")) as saver:
        builder = build_supervisor(model, calculator, make_search_tool())
        yield builder.compile(checkpointer=saver)


def _config(thread_id: str = "t", **configurable: Any) -> dict[str, Any]:
    return {"configurable": {"thread_id": thread_id, **configurable}}


def _ask(text: str) -> dict[str, Any]:
    return {"messages": [("user", text)]}


async def test_a_math_question_is_answered_by_the_math_agent(graph: Pregel) -> None:
    result = await graph.ainvoke(_ask("compute 17*23"), _config())

    assert result["route"] == "math_agent"
    tool_results = [m for m in result["messages"] if isinstance(m, ToolMessage)]
    assert [(m.name, m.content) for m in tool_results] == [("calculator", "391")]
    assert "391" in result["messages"][-1].content


async def test_a_research_question_is_answered_by_the_research_agent(graph: Pregel) -> None:
    result = await graph.ainvoke(_ask("Who is Leo DiCaprio's girlfriend?"), _config())

    assert result["route"] == "research_agent"
    tool_results = [m for m in result["messages"] if isinstance(m, ToolMessage)]
    assert [m.name for m in tool_results] == ["search"]
    assert "Vittoria Ceretti" in result["messages"][-1].content


async def test_each_question_of_a_thread_is_routed_on_its_own(graph: Pregel) -> None:
    await graph.ainvoke(_ask("compute 17*23"), _config())
    result = await graph.ainvoke(_ask("Who is Leo DiCaprio's girlfriend?"), _config())

    assert result["route"] == "research_agent"
    tool_results = [m for m in result["messages"] if isinstance(m, ToolMessage)]
    assert [m.name for m in tool_results] == ["calculator", "search"]
    assert "Vittoria Ceretti" in result["messages"][-1].content


async def test_streaming_with_subgraphs_names_the_sub_agents_steps(graph: Pregel) -> None:
    events = [
        (namespace, update)
        async for namespace, update in graph.astream(
            _ask("compute 17*23"), _config(), stream_mode="updates", subgraphs=True
        )
    ]

    outer = [(list(update), namespace) for namespace, update in events if namespace == ()]
    assert outer == [(["supervisor"], ()), (["math_agent"], ())]
    assert events[0][1] == {"supervisor": {"route": "math_agent"}}
    inner = [(namespace, update) for namespace, update in events if namespace]
    assert {namespace[0].split(":")[0] for namespace, _ in inner} == {"math_agent"}
    assert [next(iter(update)) for _, update in inner] == ["agent", "tools", "agent"]
    assert inner[1][1]["tools"]["messages"][0].content == "391"


async def test_a_paused_sub_agent_shows_its_state_and_resumes(graph: Pregel) -> None:
    config = _config(approve_tools=["calculator"])
    paused = await graph.ainvoke(_ask("compute 17*23"), config)

    assert paused["__interrupt__"][0].value["tool_calls"][0]["name"] == "calculator"
    outer = await graph.aget_state(config, subgraphs=True)
    assert outer.next == ("math_agent",)
    (task,) = outer.tasks
    assert task.name == "math_agent" and task.state is not None
    assert task.state.next == ("tools",)
    assert task.state.config["configurable"]["checkpoint_ns"].startswith("math_agent:")
    waiting = task.state.values["messages"][-1]
    assert isinstance(waiting, AIMessage) and waiting.tool_calls[0]["args"] == {
        "expression": "17*23"
    }

    result = await graph.ainvoke(Command(resume={"approved": True}), config)

    assert "391" in result["messages"][-1].content
    assert (await graph.aget_state(config, subgraphs=True)).tasks == ()
