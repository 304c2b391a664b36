"""The OpenAI front's edges over real HTTP, with a fake model (the bundled model's answers are
tested in tests/e2e/test_openai_clients.py): failing runs, bad thread names, other owners'
threads and responses, content given as parts."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from langchain_core.messages import AIMessage
from langgraph.graph import END, START, MessagesState, StateGraph
from langgraph.types import interrupt
from openai import AsyncOpenAI, NotFoundError

from tests.fakes import ScriptedChatModel
from tests.service.live_server import LiveServer, StartServer

QUESTION = {"role": "user", "content": "what is 6 * 7?"}


def sse_data(body: str) -> list[str]:
    return [line.removeprefix("data: ") for line in body.splitlines() if line.startswith("data:")]


async def test_content_parts_and_developer_messages_are_read(client: httpx.AsyncClient) -> None:
    answer = await client.post(
        "/v1/chat/completions",
        json={
            "model": "agent",
            "messages": [
                {"role": "developer", "content": "Be brief."},
                {"role": "user", "content": [{"type": "text", "text": "what is 6 * 7?"}]},
            ],
        },
    )
    assert answer.status_code == 200, answer.text
    message = answer.json()["choices"][0]["message"]
    assert message["content"] == "The answer is 42."
    assert [call["output"] for call in message["agent_tool_calls"]] == ["42"]
    assert answer.json()["thread_id"] is None  # stateless: nothing kept
    assert (await client.post("/threads/search", json={})).json() == []


async def test_a_chat_stream_ends_with_done(client: httpx.AsyncClient) -> None:
    body = {"model": "agent", "messages": [QUESTION], "stream": True}
    async with client.stream("POST", "/v1/chat/completions", json=body) as response:
        raw = await response.aread()
    assert response.headers["content-type"].startswith("text/event-stream")
    data = sse_data(raw.decode())
    assert data[-1] == "[DONE]"
    chunks = [json.loads(item) for item in data[:-1]]
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks)
    assert text == "The answer is 42."
    assert "usage" not in chunks[-1]  # only with stream_options.include_usage


async def test_a_failing_run_is_an_openai_error(start: StartServer) -> None:
    server = await start(model=ScriptedChatModel(replies=[]))  # fails on its first call
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
        body = {"model": "agent", "messages": [QUESTION]}
        waited = await http.post("/v1/chat/completions", json=body)
        assert waited.status_code == 500
        assert waited.json()["error"]["type"] == "server_error"
        assert "ran out of replies" in waited.json()["error"]["message"]

        streamed = await http.post("/v1/chat/completions", json={**body, "stream": True})
        data = sse_data(streamed.text)
        assert data[-1] != "[DONE]"
        assert "ran out of replies" in json.loads(data[-1])["error"]["message"]

        response = await http.post(
            "/v1/responses", json={"model": "agent", "input": "hi", "stream": True}
        )
        last = json.loads(sse_data(response.text)[-1])
        assert last["type"] == "response.failed"
        assert last["response"]["status"] == "failed"
        assert "ran out of replies" in last["response"]["error"]["message"]


@pytest.mark.parametrize(
    ("messages", "headers", "param"),
    [
        ([QUESTION], {"X-Thread-Id": "not-a-uuid"}, "metadata.thread_id"),
        (
            [QUESTION, {"role": "assistant", "content": "42"}],
            {"X-Thread-Id": "5f0c3c1e-7a7e-4c55-9a38-0c1f4d0e2b11"},
            "messages",
        ),
    ],
)
async def test_bad_thread_requests_are_400(
    client: httpx.AsyncClient, messages: list[dict], headers: dict[str, str], param: str
) -> None:
    answer = await client.post(
        "/v1/chat/completions", json={"model": "agent", "messages": messages}, headers=headers
    )
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"]["param"] == param


async def test_other_owners_threads_and_responses_are_not_found(start: StartServer) -> None:
    server = await start(api_keys="alice:key-a,bob:key-b")
    alice = httpx.AsyncClient(
        base_url=server.url, timeout=30, headers={"Authorization": "Bearer key-a"}
    )
    bob = httpx.AsyncClient(
        base_url=server.url, timeout=30, headers={"Authorization": "Bearer key-b"}
    )
    async with alice, bob:
        thread = {"X-Thread-Id": "0b7f8c0e-1d2a-4b3c-8d4e-5f6a7b8c9d0e"}
        body = {"model": "agent", "messages": [QUESTION]}
        kept = await alice.post("/v1/chat/completions", json=body, headers=thread)
        assert kept.status_code == 200 and kept.json()["thread_id"] == thread["X-Thread-Id"]
        refused = await bob.post("/v1/chat/completions", json=body, headers=thread)
        assert refused.status_code == 404

        first = (await alice.post("/v1/responses", json={"model": "agent", "input": "hi"})).json()
        again = {"model": "agent", "input": "hi", "previous_response_id": first["id"]}
        assert (await alice.post("/v1/responses", json=again)).status_code == 200
        stolen = await bob.post("/v1/responses", json=again)
        assert stolen.status_code == 404
        assert stolen.json()["error"]["code"] == "previous_response_not_found"


async def test_an_unstored_response_cannot_be_continued(client: httpx.AsyncClient) -> None:
    first = await client.post(
        "/v1/responses", json={"model": "agent", "input": "hi", "store": False}
    )
    assert first.status_code == 200 and first.json()["store"] is False
    again = {"model": "agent", "input": "hi", "previous_response_id": first.json()["id"]}
    assert (await client.post("/v1/responses", json=again)).status_code == 404


async def test_the_openai_stream_helpers_accumulate_the_answer(server: LiveServer) -> None:
    """The client's own stream helpers rebuild the answer from our events, the non-standard
    tool call events and fields included, without a warning."""
    async with AsyncOpenAI(base_url=f"{server.url}/v1", api_key="none", max_retries=0) as client:
        async with client.responses.stream(model="agent", input="what is 6 * 7?") as events:
            seen = [event async for event in events]
            final = await events.get_final_response()
        deltas = [event.delta for event in seen if event.type == "response.output_text.delta"]
        assert "".join(deltas) == final.output_text == "The answer is 42."
        [ran] = [e for e in seen if e.type == "response.agent_tool_call.done"]
        assert (ran.model_extra or {})["tool_call"]["output"] == "42"
        assert [item.type for item in final.output] == ["message"]
        assert [call["output"] for call in (final.model_extra or {})["agent_tool_calls"]] == ["42"]

        async with client.chat.completions.stream(model="agent", messages=[QUESTION]) as chunks:
            completion = await chunks.get_final_completion()
        assert completion.choices[0].message.content == "The answer is 42."


async def test_without_a_key_the_answer_is_an_openai_401(start: StartServer) -> None:
    server = await start(api_keys="alice:key-a")
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
        refused = await http.get("/v1/models")
        assert refused.status_code == 401
        assert refused.json()["error"]["code"] == "invalid_api_key"
        # The LangGraph routes keep their own shape.
        assert "detail" in (await http.post("/threads/search", json={})).json()


CALL = {"name": "calculator", "args": {"expression": "6 * 7"}, "id": "call_1", "type": "tool_call"}
SAID = "Let me compute that.\n\nThe answer is 42."


async def _streamed_chat(http: httpx.AsyncClient, body: dict[str, Any]) -> str:
    async with http.stream("POST", "/v1/chat/completions", json={**body, "stream": True}) as r:
        chunks = [json.loads(item) for item in sse_data((await r.aread()).decode())[:-1]]
    return "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks)


async def _streamed_response(http: httpx.AsyncClient, body: dict[str, Any]) -> tuple[str, str]:
    async with http.stream("POST", "/v1/responses", json={**body, "stream": True}) as r:
        events = [json.loads(item) for item in sse_data((await r.aread()).decode())]
    deltas = "".join(e["delta"] for e in events if e["type"] == "response.output_text.delta")
    (done,) = [e["text"] for e in events if e["type"] == "response.output_text.done"]
    return deltas, done


async def test_streamed_and_whole_answers_say_every_ai_message_alike(start: StartServer) -> None:
    """The rule: every AI message of the run with text, a blank line between them, whether
    streamed or not, in chat completions and in Responses."""
    replies = [
        AIMessage(content="Let me compute that.", tool_calls=[CALL]),
        AIMessage("The answer is 42."),
    ]
    server = await start(model=ScriptedChatModel(replies=replies * 4))
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
        chat = {"model": "agent", "messages": [QUESTION]}
        whole = (await http.post("/v1/chat/completions", json=chat)).json()
        assert whole["choices"][0]["message"]["content"] == SAID
        assert await _streamed_chat(http, chat) == SAID
        asked = {"model": "agent", "input": "what is 6 * 7?"}
        response = (await http.post("/v1/responses", json=asked)).json()
        assert response["output"][0]["content"][0]["text"] == SAID
        assert await _streamed_response(http, asked) == (SAID, SAID)


def asking_graph(settings: Any) -> StateGraph:
    def ask(state: MessagesState) -> dict[str, Any]:
        answer = interrupt({"question": "approve?"})
        return {"messages": [{"role": "ai", "content": f"human said: {answer}"}]}

    graph = StateGraph(MessagesState)
    graph.add_node("ask", ask)
    graph.add_edge(START, "ask")
    graph.add_edge("ask", END)
    return graph


async def test_an_interrupted_run_says_what_it_waits_for(start: StartServer) -> None:
    server = await start(graph_factory=asking_graph)
    waiting = '[The run is waiting for input: {"question":"approve?"}]'
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
        chat = {"model": "agent", "messages": [QUESTION]}
        whole = (await http.post("/v1/chat/completions", json=chat)).json()
        assert whole["choices"][0]["message"]["content"] == waiting
        assert await _streamed_chat(http, chat) == waiting
        asked = {"model": "agent", "input": "hi"}
        assert await _streamed_response(http, asked) == (waiting, waiting)


async def test_unserved_routes_and_retrieving_a_response_answer_openais_shape(
    client: httpx.AsyncClient,
) -> None:
    async with AsyncOpenAI(
        base_url=f"{str(client.base_url).rstrip('/')}/v1", api_key="none", max_retries=0
    ) as ai:
        with pytest.raises(NotFoundError) as retrieved:
            await ai.responses.retrieve("resp_0123")
        assert "previous_response_id" in retrieved.value.message
    for method, path, status in [
        ("GET", "/v1/embeddings", 404),
        ("POST", "/v1/completions", 404),
        ("GET", "/v1/chat/completions", 405),
    ]:
        answer = await client.request(method, path)
        assert answer.status_code == status
        assert isinstance(answer.json()["error"]["message"], str)


async def test_a_message_past_the_runs_bound_is_400_not_500(client: httpx.AsyncClient) -> None:
    """600 KB in one message: under the body limit, over the run's bound (512 KiB)."""
    big = {"model": "agent", "messages": [{"role": "user", "content": "x" * 600_000}]}
    answered = await client.post("/v1/chat/completions", json=big)
    assert answered.status_code == 400, answered.text
    assert "524288" in answered.json()["error"]["message"]
    asked = {"model": "agent", "input": "x" * 600_000}
    assert (await client.post("/v1/responses", json=asked)).status_code == 400
