"""The thread-centric protocol (`POST /threads/{id}/commands`, `POST /threads/{id}/stream/events`)
over plain HTTP and through the Python SDK's `client.threads.stream()`: runs started, streamed,
resumed and cancelled by command, replay after a `since` cursor, and the refusals."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from langgraph_sdk import get_client
from langgraph_sdk.stream.transport import ProtocolSseTransport

from tests.service.contract_graph import HANG, ContractModel, make_contract_graph
from tests.service.live_server import LiveServer, StartServer, stream_frames

DEADLINE_S = 20  # a bound on waiting, so a bug fails the test instead of hanging it
QUESTION = {"messages": [{"role": "user", "content": "what is 6 * 7?"}]}
ANSWER = "The answer is 42."
ALL = ["lifecycle", "input", "values", "updates", "messages", "tools", "custom"]
APPROVE_CALCULATOR = {"configurable": {"approve_tools": ["calculator"]}}

Event = dict[str, Any]


async def command(
    client: httpx.AsyncClient, thread_id: str, method: str, **params: Any
) -> httpx.Response:
    body = {"id": 1, "method": method, "params": params}
    return await client.post(f"/threads/{thread_id}/commands", json=body)


async def start_run(client: httpx.AsyncClient, thread_id: str, **params: Any) -> str:
    response = await command(client, thread_id, "run.start", assistant_id="agent", **params)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["type"] == "success" and answer["id"] == 1
    return answer["result"]["run_id"]


@asynccontextmanager
async def events(
    client: httpx.AsyncClient, thread_id: str, **request: Any
) -> AsyncIterator[AsyncIterator[Event]]:
    """Open the thread's protocol stream; yields its events as they come."""
    body = {"channels": ALL, **request}
    path = f"/threads/{thread_id}/stream/events"
    async with client.stream("POST", path, json=body) as response:
        assert response.status_code == 200, await response.aread()
        assert response.headers["content-type"].startswith("text/event-stream")
        yield _events(response)


async def _events(response: httpx.Response) -> AsyncIterator[Event]:
    async for frame in stream_frames(response):
        event = frame.data
        assert frame.event == event["method"] and frame.id == str(event["seq"])
        yield event


async def until(stream: AsyncIterator[Event], last: Callable[[Event], bool]) -> list[Event]:
    received = []
    async with asyncio.timeout(DEADLINE_S):
        async for event in stream:
            received.append(event)
            if last(event):
                return received
    raise AssertionError(f"the stream ended early: {received}")


def ended(status: str) -> Callable[[Event], bool]:
    def check(event: Event) -> bool:
        data = event["params"]["data"]
        return event["method"] == "lifecycle" and data["event"] == status

    return check


def lifecycle(received: list[Event]) -> list[str]:
    return [e["params"]["data"]["event"] for e in received if e["method"] == "lifecycle"]


def last_values(received: list[Event]) -> Any:
    return [e for e in received if e["method"] == "values"][-1]["params"]["data"]


def streamed_text(received: list[Event]) -> str:
    return "".join(
        e["params"]["data"]["delta"]["text"]
        for e in received
        if e["method"] == "messages" and e["params"]["data"]["event"] == "content-block-delta"
    )


async def test_a_run_started_by_command_streams_and_replays_after_a_cursor(
    each_backend: LiveServer,
) -> None:
    async with httpx.AsyncClient(base_url=each_backend.url, timeout=DEADLINE_S) as client:
        thread_id = str(uuid.uuid4())  # minted by the client, as the SDKs do
        run_id = await start_run(client, thread_id, input=QUESTION)
        async with events(client, thread_id) as stream:
            received = await until(stream, ended("completed"))
        # A client that lost its connection after the fifth event asks for the rest.
        cursor = received[4]["seq"]
        async with events(client, thread_id, since=cursor) as stream:
            rest = await until(stream, ended("completed"))
        async with events(client, thread_id, channels=["lifecycle"]) as stream:
            only_lifecycle = await until(stream, ended("completed"))

    assert [e["seq"] for e in received] == list(range(1, len(received) + 1))
    assert lifecycle(received) == ["running", "completed"]
    assert received[0]["event_id"] == f"{run_id}:0"
    assert len({e["event_id"] for e in received}) == len(received)
    assert last_values(received)["messages"][-1]["content"] == ANSWER
    assert streamed_text(received).endswith(ANSWER)
    updates = [e["params"]["node"] for e in received if e["method"] == "updates"]
    assert updates[:2] == ["agent", "tools"]
    tools = [e["params"]["data"] for e in received if e["method"] == "tools"]
    assert [(t["event"], t.get("tool_name"), t.get("output")) for t in tools] == [
        ("tool-started", "calculator", None),
        ("tool-finished", None, "42"),
    ]
    assert tools[0]["tool_call_id"] == tools[1]["tool_call_id"]
    strip = [{k: v for k, v in e.items() if k != "params"} for e in received[5:]]
    assert [{k: v for k, v in e.items() if k != "params"} for e in rest] == strip
    assert [e["seq"] for e in only_lifecycle] == [received[0]["seq"], received[-1]["seq"]]


async def test_an_interrupted_run_is_resumed_by_input_respond(each_backend: LiveServer) -> None:
    async with httpx.AsyncClient(base_url=each_backend.url, timeout=DEADLINE_S) as client:
        thread_id = str(uuid.uuid4())
        await start_run(client, thread_id, input=QUESTION, config=APPROVE_CALCULATOR)
        async with events(client, thread_id) as stream:
            first = await until(stream, ended("interrupted"))
            request = next(e for e in first if e["method"] == "input.requested")
            interrupt_id = request["params"]["data"]["interrupt_id"]
            stale = await command(client, thread_id, "input.respond", interrupt_id="nope")
            answer = await command(
                client,
                thread_id,
                "input.respond",
                interrupt_id=interrupt_id,
                namespace=[],
                response={"approved": True},
            )
            second = await until(stream, ended("completed"))
        again = await command(
            client, thread_id, "input.respond", interrupt_id=interrupt_id, response={}
        )

    assert request["params"]["data"]["payload"]["tool_calls"][0]["name"] == "calculator"
    assert lifecycle(first) == ["running", "interrupted"]
    assert stale.status_code == 404, stale.text
    assert answer.status_code == 200, answer.text
    resumed_by = answer.json()["result"]["run_id"]
    resumed = [e for e in second if e["event_id"].startswith(f"{resumed_by}:")]
    assert resumed[0]["event_id"] == f"{resumed_by}:0"
    assert lifecycle(second) == lifecycle(resumed) == ["running", "completed"]
    assert last_values(resumed)["messages"][-1]["content"] == ANSWER
    assert again.status_code == 404, again.text  # answered already


async def test_run_start_on_an_interrupted_thread_resumes_it(client: httpx.AsyncClient) -> None:
    thread_id = str(uuid.uuid4())
    first = await start_run(client, thread_id, input=QUESTION, config=APPROVE_CALCULATOR)
    await client.get(f"/threads/{thread_id}/runs/{first}/join")  # interrupted, and settled
    second = await start_run(client, thread_id, input={"approved": True})
    await client.get(f"/threads/{thread_id}/runs/{second}/join")
    state = (await client.get(f"/threads/{thread_id}/state")).json()
    run = (await client.get(f"/threads/{thread_id}/runs/{second}")).json()

    assert state["values"]["messages"][-1]["content"] == ANSWER
    assert state["interrupts"] == []
    assert run["kwargs"]["command"] == {"resume": {"approved": True}}
    assert run["kwargs"]["input"] is None


async def test_run_cancel_stops_the_run_and_its_lifecycle_ends(start: StartServer) -> None:
    model = ContractModel(started=asyncio.Event())
    server = await start(graph_factory=lambda settings: make_contract_graph(settings, model))
    async with httpx.AsyncClient(base_url=server.url, timeout=DEADLINE_S) as client:
        thread_id = str(uuid.uuid4())
        run_id = await start_run(client, thread_id, input={"messages": HANG})
        async with asyncio.timeout(DEADLINE_S):
            await model.started.wait()
        async with events(client, thread_id) as stream:
            cancelled = await command(client, thread_id, "run.cancel")
            received = await until(stream, ended("interrupted"))
        nothing_left = await command(client, thread_id, "run.cancel")
        run = (await client.get(f"/threads/{thread_id}/runs/{run_id}")).json()

    assert cancelled.status_code == 200 and cancelled.json()["result"] == {}
    assert lifecycle(received) == ["running", "interrupted"]
    assert run["status"] == "interrupted"
    assert nothing_left.status_code == 404


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ({"method": "run.start", "params": {}}, "id"),
        ({"id": 1, "params": {}}, "method"),
        ({"id": 1, "method": "run.fly"}, "Unknown command 'run.fly'"),
        ({"id": 1, "method": "run.start", "params": {}}, "assistant_id"),
        ({"id": 1, "method": "run.start", "params": {"assistant_id": "a", "input": 3}}, "input"),
        ({"id": 1, "method": "input.respond", "params": {}}, "interrupt_id"),
    ],
)
async def test_a_bad_command_is_refused_with_422(
    client: httpx.AsyncClient, body: dict[str, Any], problem: str
) -> None:
    thread_id = (await client.post("/threads", json={})).json()["thread_id"]
    response = await client.post(f"/threads/{thread_id}/commands", json=body)
    assert response.status_code == 422, response.text
    assert problem in response.text
    assert (await client.get(f"/threads/{thread_id}/runs")).json() == []


async def test_unknown_threads_and_bad_filters_are_refused(client: httpx.AsyncClient) -> None:
    missing = str(uuid.uuid4())
    stream = await client.post(f"/threads/{missing}/stream/events", json={"channels": ["values"]})
    respond = await command(client, missing, "input.respond", interrupt_id="x", response=1)
    cancel = await command(client, missing, "run.cancel")
    thread_id = (await client.post("/threads", json={})).json()["thread_id"]
    path = f"/threads/{thread_id}/stream/events"
    bad_channel = await client.post(path, json={"channels": ["gossip"]})
    no_channel = await client.post(path, json={"channels": []})
    bad_since = await client.post(path, json={"channels": ["values"], "since": -1})

    assert (stream.status_code, respond.status_code, cancel.status_code) == (404, 404, 404)
    assert bad_channel.status_code == 422 and "gossip" in bad_channel.text
    assert no_channel.status_code == 422
    assert bad_since.status_code == 422


async def test_the_python_sdk_thread_stream_runs_and_resumes(server: LiveServer) -> None:
    async with get_client(url=server.url) as client:
        async with client.threads.stream(assistant_id="agent") as thread:
            await thread.run.start(input=QUESTION)
            output = await thread.output.with_timeout(DEADLINE_S)
        assert output["messages"][-1]["content"] == ANSWER

        thread_id = (await client.threads.create())["thread_id"]
        async with client.threads.stream(thread_id, assistant_id="agent") as thread:
            await thread.run.start(input=QUESTION, config=APPROVE_CALCULATOR)
            async with asyncio.timeout(DEADLINE_S):
                async for _ in thread.values:  # ends when the run pauses at the interrupt
                    pass
            assert thread.interrupted
            assert thread.interrupts[0]["namespace"] == []
            await thread.run.respond({"approved": True})
            output = await thread.output.with_timeout(DEADLINE_S)
        assert output["messages"][-1]["content"] == ANSWER


async def test_the_python_sdk_transport_resumes_after_since_and_sees_a_cancel(
    start: StartServer,
) -> None:
    model = ContractModel(started=asyncio.Event())
    server = await start(graph_factory=lambda settings: make_contract_graph(settings, model))
    async with get_client(url=server.url) as client:
        http = client.http.client
        transport = ProtocolSseTransport(client=http, thread_id=str(uuid.uuid4()))
        started = await transport.send_command(
            {"id": 7, "method": "run.start", "params": {"assistant_id": "agent", "input": QUESTION}}
        )
        assert started is not None and started["id"] == 7
        everything = await _read(transport, {"channels": ["lifecycle", "values"]}, "completed")
        cursor = everything[1]["seq"]
        rest = await _read(
            transport, {"channels": ["lifecycle", "values"], "since": cursor}, "completed"
        )
        assert [e["event_id"] for e in rest] == [e["event_id"] for e in everything[2:]]

        hanging = await transport.send_command(
            {
                "id": 8,
                "method": "run.start",
                "params": {"assistant_id": "agent", "input": {"messages": HANG}},
            }
        )
        assert hanging is not None
        async with asyncio.timeout(DEADLINE_S):
            await model.started.wait()
        await client.runs.cancel(transport.thread_id, hanging["result"]["run_id"])
        tail = await _read(
            transport, {"channels": ["lifecycle"], "since": everything[-1]["seq"]}, "interrupted"
        )
        assert lifecycle(tail) == ["running", "interrupted"]
        await transport.close()


async def _read(
    transport: ProtocolSseTransport, params: dict[str, Any], status: str
) -> list[Event]:
    handle = transport.open_event_stream(params)
    try:
        return await until(handle.events, ended(status))
    finally:
        await handle.close()
