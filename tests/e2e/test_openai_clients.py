"""The official `openai` client against `threadloom serve` with the bundled model: the models
list, chat completions and the Responses API (streaming and not, a tool-using question, a
continued conversation), and OpenAI-shaped errors (unknown model 404, bad body 400, key 401)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from uuid import UUID

import httpx
import openai
import pytest
from openai import OpenAI

from tests.e2e.server_process import ServerProcess

pytestmark = pytest.mark.slow

KEY = "key-of-alice"
TOOL_QUESTION = "compute 17*23"
FOLLOW_UP = "compute 12*7"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    db: Path = tmp_path_factory.mktemp("openai") / "threadloom.sqlite"
    process = ServerProcess(db, env={"THREADLOOM_API_KEYS": f"alice:{KEY}"})
    process.start()
    yield process
    process.stop()


@pytest.fixture
def client(server: ServerProcess) -> Iterator[OpenAI]:
    with OpenAI(base_url=f"{server.url}/v1", api_key=KEY, max_retries=0, timeout=120) as openai:
        yield openai


def thread_messages(server: ServerProcess, thread_id: str) -> list[dict]:
    state = httpx.get(
        f"{server.url}/threads/{thread_id}/state", headers={"x-api-key": KEY}, timeout=10
    )
    assert state.status_code == 200, state.text
    return state.json()["values"]["messages"]


def test_models_are_the_assistants(client: OpenAI) -> None:
    models = client.models.list().data
    [agent] = [model for model in models if model.id == "agent"]
    assert agent.object == "model"
    assert agent.model_extra is not None and agent.model_extra["graph_id"] == "agent"
    by_uuid = client.models.retrieve(agent.model_extra["assistant_id"])
    assert by_uuid.model_extra is not None and by_uuid.model_extra["graph_id"] == "agent"


def test_a_chat_goes_on_on_its_thread(client: OpenAI, server: ServerProcess) -> None:
    """Streamed, then waited for; the second turn sends the whole conversation, as chat UIs
    do, and the thread adds only the new message."""
    thread_id = "5f0c3c1e-7a7e-4c55-9a38-0c1f4d0e2b11"
    question = {"role": "user", "content": TOOL_QUESTION}
    stream = client.chat.completions.create(
        model="agent",
        messages=[question],
        stream=True,
        stream_options={"include_usage": True},
        metadata={"thread_id": thread_id},
    )
    chunks = list(stream)
    assert all(chunk.object == "chat.completion.chunk" for chunk in chunks)
    texts = [c.choices[0].delta.content for c in chunks if c.choices and c.choices[0].delta.content]
    assert len(texts) > 1  # token by token
    answer = "".join(texts)
    assert "391" in answer
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    usage = chunks[-1].usage
    assert not chunks[-1].choices and usage is not None and usage.completion_tokens > 0
    ran = [
        call
        for c in chunks
        if c.choices
        for call in (c.choices[0].delta.model_extra or {}).get("agent_tool_calls", [])
    ]
    assert [call["output"] for call in ran] == ["391"]
    first_turn = thread_messages(server, thread_id)
    assert first_turn[0]["content"] == TOOL_QUESTION and "391" in first_turn[-1]["content"]

    conversation = [question, {"role": "assistant", "content": answer}]
    completion = client.chat.completions.create(
        model="agent",
        messages=[*conversation, {"role": "user", "content": FOLLOW_UP}],
        extra_headers={"X-Thread-Id": thread_id},
    )
    [choice] = completion.choices
    assert "84" in (choice.message.content or "") and choice.finish_reason == "stop"
    assert completion.object == "chat.completion"
    assert (completion.model_extra or {})["thread_id"] == thread_id
    assert completion.usage is not None and completion.usage.completion_tokens > 0
    assert completion.usage.total_tokens == (
        completion.usage.prompt_tokens + completion.usage.completion_tokens
    )
    # The tool the agent ran: beside OpenAI's fields, never as a call for the client to run.
    assert choice.message.tool_calls is None
    [call] = (choice.message.model_extra or {})["agent_tool_calls"]
    assert call["function"]["name"] == "calculator"
    assert json.loads(call["function"]["arguments"]) == {"expression": "12*7"}
    assert call["output"] == "84"

    both_turns = thread_messages(server, thread_id)
    assert both_turns[: len(first_turn)] == first_turn
    assert [m["content"] for m in both_turns].count(TOOL_QUESTION) == 1
    assert both_turns[len(first_turn)]["content"] == FOLLOW_UP
    assert "84" in both_turns[-1]["content"]


def test_responses_go_on_from_the_previous_response(client: OpenAI, server: ServerProcess) -> None:
    first = client.responses.create(model="agent", input=TOOL_QUESTION)
    assert first.status == "completed" and "391" in first.output_text
    assert first.usage is not None and first.usage.output_tokens > 0
    assert [item.type for item in first.output] == ["message"]
    [ran] = (first.model_extra or {})["agent_tool_calls"]
    assert ran["function"]["name"] == "calculator" and ran["output"] == "391"

    stream = client.responses.create(
        model="agent", input=FOLLOW_UP, previous_response_id=first.id, stream=True
    )
    events = list(stream)
    kinds = [event.type for event in events]
    assert kinds[:2] == ["response.created", "response.in_progress"]
    assert kinds[-1] == "response.completed"
    deltas = [event.delta for event in events if event.type == "response.output_text.delta"]
    assert len(deltas) > 1 and "84" in "".join(deltas)
    second = events[-1].response
    assert second.previous_response_id == first.id and "84" in second.output_text
    assert [event.sequence_number for event in events] == list(range(len(events)))

    # Both responses are points in one thread: the second went on from the first.
    thread_id = _thread_of(second.id)
    assert thread_id == _thread_of(first.id)
    contents = [message["content"] for message in thread_messages(server, thread_id)]
    assert contents.count(TOOL_QUESTION) == 1 and contents.count(FOLLOW_UP) == 1


def test_an_unknown_model_is_404(client: OpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as raised:
        client.chat.completions.create(model="gpt-9", messages=[{"role": "user", "content": "hi"}])
    error = raised.value.body
    assert isinstance(error, dict) and error["code"] == "model_not_found"
    assert error["param"] == "model" and "gpt-9" in error["message"]
    with pytest.raises(openai.NotFoundError):
        client.responses.create(model="gpt-9", input="hi")


def test_a_bad_body_is_400(client: OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as raised:
        client.chat.completions.create(model="agent", messages=[])
    error = raised.value.body
    assert isinstance(error, dict) and error["type"] == "invalid_request_error"
    assert error["param"] == "messages"
    with pytest.raises(openai.BadRequestError) as bad_role:
        client.chat.completions.create(
            model="agent",
            messages=[{"role": "robot", "content": "hi"}],  # type: ignore[list-item]
        )
    assert "role" in str(bad_role.value.body)


def test_an_unknown_previous_response_is_404(client: OpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as raised:
        client.responses.create(model="agent", input="hi", previous_response_id="resp_nope")
    assert isinstance(raised.value.body, dict)
    assert raised.value.body["param"] == "previous_response_id"


def test_a_missing_or_wrong_key_is_401(server: ServerProcess) -> None:
    stranger = OpenAI(base_url=f"{server.url}/v1", api_key="wrong", max_retries=0)
    with stranger, pytest.raises(openai.AuthenticationError) as raised:
        stranger.models.list()
    assert isinstance(raised.value.body, dict)
    assert raised.value.body["code"] == "invalid_api_key"
    anonymous = httpx.get(f"{server.url}/v1/models", timeout=10)
    assert anonymous.status_code == 401
    assert anonymous.json()["error"]["type"] == "authentication_error"


def _thread_of(response_id: str) -> str:
    """A response id is `resp_` + the thread's and the run's hex digits."""
    return str(UUID(response_id.removeprefix("resp_")[:32]))
