"""A2A: the `a2a-sdk` client talks to an assistant's agent at `/a2a/{assistant_id}` on the real
server (fake tool-calling model): its card, send, stream, get and cancel a task, and errors."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any
from uuid import uuid4

import httpx
import pytest
from a2a.client import Client, ClientConfig, create_client
from a2a.types import (
    CancelTaskRequest,
    GetTaskRequest,
    Message,
    Part,
    Role,
    SendMessageConfiguration,
    SendMessageRequest,
    StreamResponse,
    TaskNotCancelableError,
    TaskNotFoundError,
    TaskState,
    UnsupportedOperationError,
)
from google.protobuf.json_format import MessageToDict
from langgraph.graph import END, START, MessagesState, StateGraph
from langgraph.types import interrupt

from tests.fakes import FakeToolCallingModel
from tests.service.live_server import LiveServer, StartServer
from threadloom.service.assistants import system_assistant_id


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=30) as client:
        yield client


async def a2a_client(
    http: httpx.AsyncClient, server: LiveServer, streaming: bool = False, assistant: str = "agent"
) -> Client:
    config = ClientConfig(httpx_client=http, streaming=streaming)
    return await create_client(f"{server.url}/a2a/{assistant}", client_config=config)


def ask(text: str, **fields: Any) -> SendMessageRequest:
    message = Message(role=Role.ROLE_USER, message_id="m-1", parts=[Part(text=text)], **fields)
    return SendMessageRequest(message=message)


async def send(client: Client, request: SendMessageRequest) -> list[StreamResponse]:
    return [event async for event in client.send_message(request)]


async def test_the_agent_card_describes_the_assistant(
    server: LiveServer, http: httpx.AsyncClient
) -> None:
    assistant_id = system_assistant_id("agent")
    by_query = await http.get(
        f"{server.url}/.well-known/agent-card.json", params={"assistant_id": assistant_id}
    )
    card = by_query.json()
    assert card["name"] == "agent"
    assert card["supportedInterfaces"] == [
        {
            "url": f"{server.url}/a2a/{assistant_id}",
            "protocolBinding": "JSONRPC",
            "protocolVersion": "1.0",
        }
    ]
    assert card["capabilities"] == {"streaming": True, "pushNotifications": False}
    assert card["skills"][0]["id"] == f"{assistant_id}-main"
    by_path = await http.get(f"{server.url}/a2a/{assistant_id}/.well-known/agent-card.json")
    assert by_path.json() == card
    unknown = await http.get(
        f"{server.url}/.well-known/agent-card.json", params={"assistant_id": "nope"}
    )
    assert unknown.status_code == 404


async def test_send_answers_the_completed_task_and_a_context_continues(
    each_backend: LiveServer, http: httpx.AsyncClient
) -> None:
    client = await a2a_client(http, each_backend)
    (event,) = await send(client, ask("what is 6 * 7?"))
    task = event.task
    assert task.status.state == TaskState.TASK_STATE_COMPLETED
    assert task.artifacts[0].parts[0].text == "The answer is 42."
    assert [m.role for m in task.history] == [Role.ROLE_USER, Role.ROLE_AGENT]
    assert task.id.split(":")[0] == task.context_id

    (again,) = await send(client, ask("what is 2 + 3?", context_id=task.context_id))
    assert again.task.context_id == task.context_id and again.task.id != task.id
    assert again.task.artifacts[0].parts[0].text == "The answer is 5."
    assert len(again.task.history) == 4

    with pytest.raises(UnsupportedOperationError):
        await send(client, ask("and 1 + 1?", task_id=task.id))

    # A task keeps its own answer and history after the conversation went on.
    fetched = await client.get_task(GetTaskRequest(id=task.id))
    assert fetched.status.state == TaskState.TASK_STATE_COMPLETED
    assert fetched.artifacts[0].parts[0].text == "The answer is 42."
    assert [m.parts[0].text for m in fetched.history] == ["what is 6 * 7?", "The answer is 42."]
    latest = await client.get_task(GetTaskRequest(id=again.task.id, history_length=1))
    assert [m.parts[0].text for m in latest.history] == ["The answer is 5."]


async def test_stream_sends_submitted_working_the_answer_and_completed(
    server: LiveServer, http: httpx.AsyncClient
) -> None:
    client = await a2a_client(http, server, streaming=True)
    events = [MessageToDict(e) for e in await send(client, ask("what is 6 * 7?"))]
    assert [next(iter(e)) for e in events] == [
        "task",
        "statusUpdate",
        "statusUpdate",
        "statusUpdate",
        "artifactUpdate",
        "statusUpdate",
    ]
    assert events[0]["task"]["status"]["state"] == "TASK_STATE_SUBMITTED"
    working = [e["statusUpdate"]["status"] for e in events[1:4]]
    assert {status["state"] for status in working} == {"TASK_STATE_WORKING"}
    assert [status.get("message", {}).get("parts") for status in working] == [
        None,
        [{"text": "Calling calculator with {'expression': '6 * 7'}"}],
        [{"text": "calculator answered: 42"}],
    ]
    assert events[4]["artifactUpdate"]["artifact"]["parts"] == [{"text": "The answer is 42."}]
    assert events[5]["statusUpdate"]["status"]["state"] == "TASK_STATE_COMPLETED"
    task_id = events[0]["task"]["id"]
    assert {e[next(iter(e))].get("taskId", task_id) for e in events} == {task_id}


async def test_a_running_task_can_be_got_and_cancelled(
    start: StartServer, http: httpx.AsyncClient
) -> None:
    gate, started = asyncio.Event(), asyncio.Event()
    server = await start(model=FakeToolCallingModel(gate=gate, started=started))
    client = await a2a_client(http, server)
    request = ask("what is 6 * 7?")
    request.configuration.CopyFrom(SendMessageConfiguration(return_immediately=True))
    (event,) = await send(client, request)
    assert event.task.status.state == TaskState.TASK_STATE_SUBMITTED
    await started.wait()

    running = await client.get_task(GetTaskRequest(id=event.task.id))
    assert running.status.state == TaskState.TASK_STATE_WORKING
    cancelled = await client.cancel_task(CancelTaskRequest(id=event.task.id))
    assert cancelled.status.state == TaskState.TASK_STATE_CANCELED
    with pytest.raises(TaskNotCancelableError):
        await client.cancel_task(CancelTaskRequest(id=event.task.id))


async def test_unknown_tasks_and_bad_requests_are_json_rpc_errors(
    server: LiveServer, http: httpx.AsyncClient
) -> None:
    client = await a2a_client(http, server)
    missing = f"{uuid4()}:{uuid4()}"
    with pytest.raises(TaskNotFoundError):
        await client.get_task(GetTaskRequest(id=missing))
    with pytest.raises(TaskNotFoundError):
        await client.get_task(GetTaskRequest(id="not-a-task"))

    url = f"{server.url}/a2a/agent"
    rpc = {"jsonrpc": "2.0", "id": 7}
    answers = [
        (await http.post(url, content=b"{nope")).json(),
        (await http.post(url, json={**rpc, "method": "Teleport"})).json(),
        (await http.post(url, json={**rpc, "method": "SendMessage", "params": {}})).json(),
        (
            await http.post(
                url,
                json={
                    **rpc,
                    "method": "SendMessage",
                    "params": {"message": {"role": "ROLE_USER", "parts": [{"data": {}}]}},
                },
            )
        ).json(),
    ]
    assert [a["error"]["code"] for a in answers] == [-32700, -32601, -32602, -32005]
    assert answers[1] == {
        "jsonrpc": "2.0",
        "id": 7,
        "error": {"code": -32601, "message": "Method not found: Teleport"},
    }
    unknown_agent = await http.post(
        f"{server.url}/a2a/nope", json={**rpc, "method": "GetTask", "params": {"id": missing}}
    )
    assert unknown_agent.json()["error"]["code"] == -32602


async def test_a2a_0_3_method_names_answer_in_0_3_json(
    server: LiveServer, http: httpx.AsyncClient
) -> None:
    body = {
        "jsonrpc": "2.0",
        "id": "1",
        "method": "message/send",
        "params": {
            "message": {
                "kind": "message",
                "role": "user",
                "messageId": "m-1",
                "parts": [{"kind": "text", "text": "what is 6 * 7?"}],
            }
        },
    }
    task = (await http.post(f"{server.url}/a2a/agent", json=body)).json()["result"]
    assert task["kind"] == "task"
    assert task["status"]["state"] == "completed"
    assert task["artifacts"][0]["parts"] == [{"kind": "text", "text": "The answer is 42."}]
    assert [m["role"] for m in task["history"]] == ["user", "agent"]
    got = await http.post(
        f"{server.url}/a2a/agent",
        json={"jsonrpc": "2.0", "id": "2", "method": "tasks/get", "params": {"id": task["id"]}},
    )
    assert got.json()["result"]["status"]["state"] == "completed"


async def test_api_keys_guard_a2a_and_tasks_stay_with_their_owner(start: StartServer) -> None:
    server = await start(api_keys="alice:a-key,bob:b-key")
    async with (
        httpx.AsyncClient(timeout=30, headers={"x-api-key": "a-key"}) as alice_http,
        httpx.AsyncClient(timeout=30, headers={"x-api-key": "b-key"}) as bob_http,
        httpx.AsyncClient(timeout=30) as anonymous,
    ):
        card = await anonymous.get(f"{server.url}/a2a/agent/.well-known/agent-card.json")
        assert card.status_code == 401
        alice = await a2a_client(alice_http, server)
        (event,) = await send(alice, ask("what is 6 * 7?"))
        assert event.task.status.state == TaskState.TASK_STATE_COMPLETED
        bob = await a2a_client(bob_http, server)
        with pytest.raises(TaskNotFoundError):
            await bob.get_task(GetTaskRequest(id=event.task.id))
        with pytest.raises(TaskNotFoundError):
            await send(bob, ask("what is 1 + 1?", context_id=event.task.context_id))
        assert (await alice.get_task(GetTaskRequest(id=event.task.id))).id == event.task.id


def asking_graph(settings: Any) -> StateGraph:
    """One node that asks a human before answering."""

    def ask(state: MessagesState) -> dict[str, Any]:
        answer = interrupt({"question": "approve?"})
        return {"messages": [{"role": "ai", "content": f"human said: {answer}"}]}

    graph = StateGraph(MessagesState)
    graph.add_node("ask", ask)
    graph.add_edge(START, "ask")
    graph.add_edge("ask", END)
    return graph


def rpc(method: str, message: dict[str, Any]) -> dict[str, Any]:
    parts = message.pop("parts")
    body = {"messageId": str(uuid4()), "role": "ROLE_USER", "parts": parts, **message}
    return {"jsonrpc": "2.0", "id": 1, "method": method, "params": {"message": body}}


async def test_an_interrupt_asks_for_input_and_the_next_message_on_the_task_resumes_it(
    start: StartServer, http: httpx.AsyncClient
) -> None:
    server = await start(graph_factory=asking_graph)
    url = f"{server.url}/a2a/agent"
    sent = (await http.post(url, json=rpc("SendMessage", {"parts": [{"text": "hi"}]}))).json()
    task = sent["result"]["task"]
    assert task["status"]["state"] == "TASK_STATE_INPUT_REQUIRED"
    (artifact,) = task["artifacts"]
    assert artifact["name"] == "Interrupt"
    assert artifact["parts"][0]["data"]["value"] == {"question": "approve?"}
    fetched = await http.post(
        url, json={**rpc("GetTask", {"parts": []}), "params": {"id": task["id"]}}
    )
    assert fetched.json()["result"]["status"]["state"] == "TASK_STATE_INPUT_REQUIRED"
    assert fetched.json()["result"]["artifacts"][0]["parts"] == artifact["parts"]

    # The answer: a text part (or a data part's `resume`) naming the task.
    ids = {"taskId": task["id"], "contextId": task["contextId"]}
    resumed = await http.post(url, json=rpc("SendMessage", {"parts": [{"text": "yes"}], **ids}))
    done = resumed.json()["result"]["task"]
    assert done["status"]["state"] == "TASK_STATE_COMPLETED", done
    assert done["contextId"] == task["contextId"]
    assert done["artifacts"][0]["parts"][0]["text"] == "human said: yes"

    again = (await http.post(url, json=rpc("SendMessage", {"parts": [{"text": "hi"}]}))).json()
    waiting = again["result"]["task"]
    ids = {"taskId": waiting["id"], "contextId": waiting["contextId"]}
    streamed = await http.post(
        url,
        json=rpc("SendStreamingMessage", {"parts": [{"data": {"resume": "by data"}}], **ids}),
    )
    assert '"human said: by data"' in streamed.text
    assert "TASK_STATE_COMPLETED" in streamed.text

    # A 0.3 client sees the same: `input-required`, and a data part with its kind.
    legacy = (await http.post(url, json=rpc("message/send", {"parts": [{"text": "hi"}]}))).json()
    assert legacy["result"]["status"]["state"] == "input-required"
    assert legacy["result"]["artifacts"][0]["parts"][0]["kind"] == "data"
