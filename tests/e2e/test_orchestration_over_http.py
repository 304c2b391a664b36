"""The supervisor and the approval graph over HTTP, on the bundled model, through the SDK.

The real server on loopback serves the repository's own `langgraph.json`, as `make run` does:
each graph under its own id.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from langgraph_sdk import get_client
from langgraph_sdk.client import LangGraphClient

from tests.e2e.server_process import REPO
from tests.graphs.ui_interrupt_schemas import is_agent_inbox_interrupt, is_hitl_request
from tests.service.live_server import start_server

SUPERVISOR = "supervisor"
APPROVAL = "approval"
DEPLOYMENT = REPO / "langgraph.json"


async def _serve(db: Path, **settings: Any) -> AsyncIterator[LangGraphClient]:
    server = await start_server(db, config=DEPLOYMENT, **settings)
    try:
        async with get_client(url=server.url) as client:
            yield client
    finally:
        await server.stop()


@pytest.fixture
async def supervisor(tmp_path: Path) -> AsyncIterator[LangGraphClient]:
    async for client in _serve(tmp_path / "threadloom.sqlite"):
        yield client


@pytest.fixture
async def approval(storage_settings: dict[str, Any]) -> AsyncIterator[LangGraphClient]:
    """The approval graph on a SQLite file, then on PostgreSQL."""
    async for client in _serve(**storage_settings):
        yield client


def _ask(text: str) -> dict[str, Any]:
    return {"messages": [{"role": "user", "content": text}]}


async def _thread(client: LangGraphClient) -> str:
    return (await client.threads.create())["thread_id"]


async def test_supervisor_streams_the_math_agent_under_its_namespace(
    supervisor: LangGraphClient,
) -> None:
    thread_id = await _thread(supervisor)
    parts = [
        part
        async for part in supervisor.runs.stream(
            thread_id,
            SUPERVISOR,
            input=_ask("compute 17*23"),
            stream_mode=["updates", "values"],
            stream_subgraphs=True,
        )
    ]

    root = [part.data for part in parts if part.event == "updates"]
    assert root[0] == {"supervisor": {"route": "math_agent"}} and list(root[1]) == ["math_agent"]
    nested = [part for part in parts if part.event.startswith("updates|")]
    assert {part.event.split("|")[1].split(":")[0] for part in nested} == {"math_agent"}
    assert [next(iter(part.data)) for part in nested] == ["agent", "tools", "agent"]
    assert nested[1].data["tools"]["messages"][0]["content"] == "391"
    final = [part.data for part in parts if part.event == "values"][-1]
    assert final["route"] == "math_agent" and "391" in final["messages"][-1]["content"]


async def test_supervisor_hands_a_question_about_people_to_research(
    supervisor: LangGraphClient,
) -> None:
    thread_id = await _thread(supervisor)

    answer = await supervisor.runs.wait(
        thread_id, SUPERVISOR, input=_ask("Who is Leo DiCaprio's girlfriend?")
    )

    assert answer["route"] == "research_agent"
    assert [m["name"] for m in answer["messages"] if m["type"] == "tool"] == ["search"]
    assert "Vittoria Ceretti" in answer["messages"][-1]["content"]


async def test_a_paused_sub_agent_state_is_read_and_resumed_over_http(
    supervisor: LangGraphClient,
) -> None:
    careful = await supervisor.assistants.create(
        SUPERVISOR, config={"configurable": {"approve_tools": ["calculator"]}}
    )
    thread_id = await _thread(supervisor)
    paused = await supervisor.runs.wait(
        thread_id, careful["assistant_id"], input=_ask("compute 17*23")
    )
    assert paused["__interrupt__"][0]["value"]["tool_calls"][0]["name"] == "calculator"

    state = await supervisor.threads.get_state(thread_id, subgraphs=True)

    assert state["next"] == ["math_agent"]
    (task,) = state["tasks"]
    assert task["name"] == "math_agent" and task["state"]["next"] == ["tools"]
    waiting = task["state"]["values"]["messages"][-1]
    assert waiting["tool_calls"][0]["args"] == {"expression": "17*23"}
    assert (await supervisor.threads.get(thread_id))["status"] == "interrupted"

    done = await supervisor.runs.wait(
        thread_id, careful["assistant_id"], command={"resume": {"approved": True}}
    )
    assert "391" in done["messages"][-1]["content"]
    assert (await supervisor.threads.get(thread_id))["status"] == "idle"


async def test_supervisor_describes_its_sub_agents_for_studio(
    supervisor: LangGraphClient,
) -> None:
    subgraphs = await supervisor.assistants.get_subgraphs(SUPERVISOR)
    drawing = await supervisor.assistants.get_graph(SUPERVISOR, xray=True)

    assert set(subgraphs) == {"math_agent", "research_agent"}
    assert "messages" in subgraphs["math_agent"]["state_schema"]["properties"]
    node_ids = {node["id"] for node in drawing["nodes"]}
    assert {"supervisor", "math_agent:agent", "math_agent:tools", "research_agent:tools"} <= (
        node_ids
    )


async def _pause(client: LangGraphClient, question: str) -> tuple[str, dict[str, Any]]:
    thread_id = await _thread(client)
    paused = await client.runs.wait(thread_id, APPROVAL, input=_ask(question))
    (waiting,) = paused["__interrupt__"][0]["value"]["tool_calls"]
    assert (await client.threads.get(thread_id))["status"] == "interrupted"
    return thread_id, waiting


async def _decide(client: LangGraphClient, thread_id: str, decision: Any) -> list[dict]:
    result = await client.runs.wait(thread_id, APPROVAL, command={"resume": decision})
    assert (await client.threads.get(thread_id))["status"] == "idle"
    return result["messages"]


async def test_approval_approve_runs_the_call(approval: LangGraphClient) -> None:
    thread_id, waiting = await _pause(approval, "compute 17*23")
    assert (waiting["name"], waiting["args"]) == ("calculator", {"expression": "17*23"})

    messages = await _decide(approval, thread_id, {"approved": True})

    assert [m["type"] for m in messages] == ["human", "ai", "tool", "ai"]
    assert messages[2]["content"] == "391" and "391" in messages[-1]["content"]


async def test_approval_reject_answers_the_call_with_the_reason(
    approval: LangGraphClient,
) -> None:
    thread_id, waiting = await _pause(approval, "Who is Leo DiCaprio's girlfriend?")
    assert waiting["name"] == "search"

    messages = await _decide(approval, thread_id, {"approved": False, "reason": "Private."})

    assert [m["type"] for m in messages] == ["human", "ai", "tool", "ai"]
    refusal = messages[2]
    assert refusal["status"] == "error" and refusal["tool_call_id"] == waiting["id"]
    assert "did not approve" in refusal["content"] and "Private." in refusal["content"]
    assert "Vittoria Ceretti" not in refusal["content"]


async def test_approval_edit_runs_the_edited_arguments(approval: LangGraphClient) -> None:
    thread_id, waiting = await _pause(approval, "compute 17*23")

    messages = await _decide(approval, thread_id, [{**waiting, "args": {"expression": "12*7"}}])

    assert messages[2]["content"] == "84" and messages[2]["tool_call_id"] == waiting["id"]
    assert "84" in messages[-1]["content"]


async def test_approval_asks_again_when_the_resume_is_no_decision(
    approval: LangGraphClient,
) -> None:
    thread_id, waiting = await _pause(approval, "compute 17*23")

    again = await approval.runs.wait(
        thread_id, APPROVAL, command={"resume": {"action": "approve"}}
    )

    (question,) = again["__interrupt__"]
    assert "Resume a tool approval with" in question["value"]["error"]
    assert question["value"]["tool_calls"] == [waiting]
    assert (await approval.threads.get(thread_id))["status"] == "interrupted"
    messages = await _decide(approval, thread_id, {"approved": True})
    assert messages[2]["content"] == "391"


async def test_approval_asks_in_the_ui_shapes_and_takes_agent_inbox_answers(
    approval: LangGraphClient,
) -> None:
    thread_id, waiting = await _pause(approval, "compute 17*23")
    (pending,) = (await approval.threads.get(thread_id))["interrupts"].values()
    question = pending[0]["value"]
    assert is_agent_inbox_interrupt(question) and is_hitl_request(question)
    assert question["action_request"] == {"action": "calculator", "args": waiting["args"]}

    edit = {"type": "edit", "args": {"action": "calculator", "args": {"expression": "12*7"}}}
    messages = await _decide(approval, thread_id, [edit])
    assert messages[2]["content"] == "84" and messages[2]["tool_call_id"] == waiting["id"]

    thread_id, waiting = await _pause(approval, "compute 17*23")
    messages = await _decide(approval, thread_id, [{"type": "response", "args": "Use 12*7."}])
    assert messages[2]["status"] == "error" and "Use 12*7." in messages[2]["content"]


async def test_approval_takes_agent_chat_ui_decisions(approval: LangGraphClient) -> None:
    thread_id, waiting = await _pause(approval, "compute 17*23")

    messages = await _decide(approval, thread_id, {"decisions": [{"type": "approve"}]})

    assert messages[2]["content"] == "391" and messages[2]["tool_call_id"] == waiting["id"]
