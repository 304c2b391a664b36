"""The Hugging Face endpoint client against a loopback OpenAI-compatible server (TGI's wire)."""

from __future__ import annotations

import operator
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from functools import reduce

import httpx
import huggingface_hub.constants
import pytest
from huggingface_hub.errors import OfflineModeIsEnabled
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from langchain_core.runnables import Runnable
from langchain_core.tools import tool
from langchain_huggingface import HuggingFaceEndpoint
from openai_server import OpenAIServer, Reply, ToolCallReply

from threadloom.models.endpoint_errors import EndpointError
from threadloom.models.errors import ModelError
from threadloom.models.remote import EndpointChatModel, make_endpoint_chat_model

HUB_ID = "org/tiny-chat"
MODES = ["invoke", "ainvoke", "stream", "astream"]
QUESTION = [HumanMessage("What is 2 + 3, and 4 * 5?")]


@dataclass(frozen=True)
class Spec:
    endpoint_url: str | None
    model: str = HUB_ID
    endpoint_model: str | None = HUB_ID
    hf_token: str | None = None
    max_new_tokens: int = 32
    temperature: float = 0.0


@tool
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


@tool
def multiply(a: int, b: int) -> int:
    """Multiply two integers."""
    return a * b


@pytest.fixture
def server() -> Iterator[OpenAIServer]:
    with OpenAIServer() as running:
        yield running


@pytest.fixture
def model(server: OpenAIServer) -> BaseChatModel:
    return make_endpoint_chat_model(Spec(endpoint_url=server.url))


@pytest.fixture
def silent_url() -> Iterator[str]:
    """A loopback URL whose connections the kernel accepts but no one ever answers."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"


@pytest.fixture
def closed_port_url() -> Iterator[str]:
    """A loopback URL that refuses connections: bound, never listening, so no one else takes it."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"


async def ask(model: Runnable, mode: str, messages: list[BaseMessage] = QUESTION) -> AIMessage:
    """One reply through one of the four call paths; streamed chunks are merged."""
    if mode == "invoke":
        return model.invoke(messages)
    if mode == "ainvoke":
        return await model.ainvoke(messages)
    if mode == "stream":
        return reduce(operator.add, model.stream(messages))
    return reduce(operator.add, [chunk async for chunk in model.astream(messages)])


def test_building_contacts_no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object) -> None:
        raise AssertionError("the model contacted the network while being built")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    remote = make_endpoint_chat_model(Spec(endpoint_url="http://tgi.invalid:8080"))
    hosted = make_endpoint_chat_model(Spec(endpoint_url=None, hf_token="hf_secret"))

    assert isinstance(remote, EndpointChatModel)
    assert remote.model_id == HUB_ID
    assert hosted.model_id == HUB_ID
    assert hosted.llm.repo_id == HUB_ID
    assert hosted.llm.client.token == "hf_secret"


@pytest.mark.parametrize("mode", MODES)
async def test_plain_answer_with_usage(model: BaseChatModel, server: OpenAIServer, mode: str):
    server.script(Reply(content="Five and twenty.", prompt_tokens=11, completion_tokens=4))

    reply = await ask(model, mode)

    assert reply.content == "Five and twenty."
    assert reply.tool_calls == []
    assert reply.usage_metadata == {"input_tokens": 11, "output_tokens": 4, "total_tokens": 15}
    sent = server.requests[0]
    # The hub id, not the URL: vLLM answers 404 for any model name but the one it serves.
    assert sent["model"] == HUB_ID
    assert sent["messages"] == [{"role": "user", "content": "What is 2 + 3, and 4 * 5?"}]
    assert sent["max_tokens"] == 32
    assert sent["temperature"] == 0.0  # greedy is kept, not dropped as falsy
    assert "top_p" not in sent


@pytest.mark.parametrize("mode", ["stream", "astream"])
async def test_streams_ask_for_usage(model: BaseChatModel, server: OpenAIServer, mode: str):
    server.script(Reply(content="Five.", prompt_tokens=7, completion_tokens=2))

    await ask(model, mode)

    assert server.requests[0]["stream"] is True
    assert server.requests[0]["stream_options"] == {"include_usage": True}


@pytest.mark.parametrize(
    "arguments", ['{"a": 2, "b": 3}', {"a": 2, "b": 3}], ids=["string", "object"]
)
@pytest.mark.parametrize("mode", ["invoke", "ainvoke"])
async def test_tool_call_arguments_as_string_or_object(
    model: BaseChatModel, server: OpenAIServer, mode: str, arguments: str | dict
):
    server.script(Reply(tool_calls=(ToolCallReply("add", arguments, id="call_7"),)))

    reply = await ask(model.bind_tools([add]), mode)

    assert reply.invalid_tool_calls == []
    assert reply.tool_calls == [
        {"name": "add", "args": {"a": 2, "b": 3}, "id": "call_7", "type": "tool_call"}
    ]


@pytest.mark.parametrize("mode", MODES)
async def test_parallel_tool_calls(model: BaseChatModel, server: OpenAIServer, mode: str):
    server.script(
        Reply(
            content="Let me compute both.",
            tool_calls=(
                ToolCallReply("add", '{"a": 2, "b": 3}', id="call_a"),
                ToolCallReply("multiply", '{"a": 4, "b": 5}', id="call_m"),
            ),
            prompt_tokens=30,
            completion_tokens=12,
        )
    )

    reply = await ask(model.bind_tools([add, multiply]), mode)

    assert reply.content == "Let me compute both."
    assert [(call["name"], call["args"], call["id"]) for call in reply.tool_calls] == [
        ("add", {"a": 2, "b": 3}, "call_a"),
        ("multiply", {"a": 4, "b": 5}, "call_m"),
    ]
    assert reply.usage_metadata["total_tokens"] == 42
    assert [tool["function"]["name"] for tool in server.requests[0]["tools"]] == ["add", "multiply"]


async def test_streamed_tool_calls_arrive_as_indexed_chunks(
    model: BaseChatModel, server: OpenAIServer
):
    server.script(
        Reply(
            tool_calls=(
                ToolCallReply("add", '{"a": 2, "b": 3}'),
                ToolCallReply("multiply", '{"a": 4, "b": 5}'),
            )
        )
    )

    chunks = [chunk async for chunk in model.bind_tools([add, multiply]).astream(QUESTION)]

    pieces = [piece for chunk in chunks for piece in chunk.tool_call_chunks]
    assert {piece["index"] for piece in pieces} == {0, 1}
    assert [piece["name"] for piece in pieces if piece["name"]] == ["add", "multiply"]
    # The arguments come in several pieces and only add up to JSON once merged.
    assert len([piece for piece in pieces if piece["args"]]) == 4


CHOICES = [
    ("auto", "auto"),
    ("none", "none"),
    ("required", "required"),
    ("any", "required"),
    (True, "required"),
    ("multiply", {"type": "function", "function": {"name": "multiply"}}),
    (
        {"type": "function", "function": {"name": "multiply"}},
        {"type": "function", "function": {"name": "multiply"}},
    ),
]


@pytest.mark.parametrize(("choice", "sent"), CHOICES)
async def test_tool_choice_with_several_tools(
    model: BaseChatModel, server: OpenAIServer, choice: str | bool | dict, sent: str | dict
):
    server.script(Reply(content="ok"))

    await ask(model.bind_tools([add, multiply], tool_choice=choice), "ainvoke")

    assert server.requests[0]["tool_choice"] == sent
    assert len(server.requests[0]["tools"]) == 2


def test_tool_choice_naming_an_unbound_tool_is_refused(model: BaseChatModel):
    with pytest.raises(ValueError, match=r"names no bound tool.*add, multiply"):
        model.bind_tools([add, multiply], tool_choice="divide")


@pytest.mark.parametrize("mode", MODES)
async def test_sampling_options_reach_the_request(server: OpenAIServer, mode: str):
    endpoint = HuggingFaceEndpoint(endpoint_url=server.url, max_new_tokens=16, top_p=None)
    model = EndpointChatModel(
        llm=endpoint, model_id=HUB_ID, top_p=0.8, seed=7, repetition_penalty=1.05
    )
    server.script(Reply(content="a"), Reply(content="b"))

    await ask(model, mode)
    # Call options win over the model's, and names the client lacks still reach the server.
    await ask(model.bind(top_p=0.5, seed=11, repetition_penalty=1.2, top_k=20), mode)

    first, second = server.requests
    assert (first["top_p"], first["seed"], first["repetition_penalty"]) == (0.8, 7, 1.05)
    assert (second["top_p"], second["seed"], second["repetition_penalty"]) == (0.5, 11, 1.2)
    assert second["top_k"] == 20


async def test_streaming_model_keeps_call_options(server: OpenAIServer):
    # invoke() on a streaming model goes through _generate and then _stream.
    endpoint = HuggingFaceEndpoint(endpoint_url=server.url, streaming=True)
    model = EndpointChatModel(llm=endpoint, model_id=HUB_ID, repetition_penalty=1.05)
    server.script(Reply(content="a"))

    model.invoke(QUESTION, repetition_penalty=1.3)

    assert server.requests[0]["stream"] is True
    assert server.requests[0]["repetition_penalty"] == 1.3


async def test_history_with_tool_results_is_sent_in_openai_form(
    model: BaseChatModel, server: OpenAIServer
):
    history = [
        HumanMessage("What is 2 + 3?"),
        AIMessage("", tool_calls=[{"name": "add", "args": {"a": 2, "b": 3}, "id": "call_1"}]),
        ToolMessage("5", tool_call_id="call_1"),
    ]
    server.script(Reply(content="2 + 3 = 5."))

    reply = await ask(model.bind_tools([add]), "ainvoke", history)

    assert reply.content == "2 + 3 = 5."
    assistant, tool_result = server.requests[0]["messages"][1:]
    assert assistant["tool_calls"] == [
        {
            "type": "function",
            "id": "call_1",
            "function": {"name": "add", "arguments": '{"a": 2, "b": 3}'},
        }
    ]
    assert tool_result == {"role": "tool", "content": "5", "tool_call_id": "call_1"}


@pytest.mark.parametrize("mode", MODES)
async def test_unreachable_endpoint_raises_endpoint_error(closed_port_url: str, mode: str):
    model = make_endpoint_chat_model(Spec(endpoint_url=closed_port_url))

    with pytest.raises(EndpointError, match="Cannot reach the model endpoint") as caught:
        await ask(model, mode)

    assert isinstance(caught.value, ModelError)
    assert closed_port_url in str(caught.value)
    assert "THREADLOOM_ENDPOINT_URL" in str(caught.value)
    assert isinstance(caught.value.__cause__, httpx.HTTPError)


def test_endpoint_that_never_answers_times_out(silent_url: str):
    model = EndpointChatModel(
        llm=HuggingFaceEndpoint(endpoint_url=silent_url, timeout=1), model_id=HUB_ID
    )

    with pytest.raises(EndpointError, match="did not answer in time") as caught:
        model.invoke(QUESTION)

    assert caught.value.status_code is None


MISSING_MODEL = f"The model `{HUB_ID}` does not exist"
# case: (reply, the server's message as the error must quote it, the hint it must give)
ERROR_REPLIES = {
    "tgi-422": (
        Reply(status=422, error="Input validation error: `inputs` too long"),
        "Input validation error: `inputs` too long",
        "rejected",
    ),
    "hf-401": (Reply(status=401, error="Invalid credentials"), "Invalid credentials", "TOKEN"),
    "tgi-503": (Reply(status=503, error="Model is overloaded"), "Model is overloaded", "retry"),
    "vllm-404": (
        Reply(status=404, error_body={"object": "error", "message": MISSING_MODEL, "code": 404}),
        MISSING_MODEL,
        "THREADLOOM_ENDPOINT_MODEL",
    ),
    "openai-400": (
        Reply(status=400, error_body={"error": {"message": "top_p must be in (0, 1]"}}),
        "top_p must be in (0, 1]",
        "rejected",
    ),
}


@pytest.mark.parametrize("case", ERROR_REPLIES)
@pytest.mark.parametrize("mode", MODES)
async def test_error_status_raises_endpoint_error(
    model: BaseChatModel, server: OpenAIServer, mode: str, case: str
):
    reply, quoted, hint = ERROR_REPLIES[case]
    server.script(reply)

    with pytest.raises(EndpointError) as caught:
        await ask(model, mode)

    message = str(caught.value)
    assert caught.value.status_code == reply.status
    assert f"answered {reply.status}: {quoted}. " in message
    assert hint in message


@pytest.mark.parametrize("mode", ["stream", "astream"])
async def test_error_event_mid_stream_raises_endpoint_error(
    model: BaseChatModel, server: OpenAIServer, mode: str
):
    server.script(Reply(content="Partial answer", error="Request failed during generation"))

    with pytest.raises(EndpointError, match=r"failed while generating.*during generation"):
        await ask(model, mode)


@pytest.mark.parametrize("mode", ["invoke", "astream"])
async def test_model_name_comes_from_the_endpoint_when_not_set(mode: str):
    with OpenAIServer(models=("tgi-served",)) as server:
        model = make_endpoint_chat_model(Spec(endpoint_url=server.url, endpoint_model=None))
        server.script(Reply(content="ok"))

        await ask(model, mode)

    assert server.requests[0]["model"] == "tgi-served"


def test_dedicated_hf_endpoint_gets_the_token():
    url = "https://abc123.us-east-1.aws.endpoints.huggingface.cloud"

    model = make_endpoint_chat_model(Spec(endpoint_url=url, hf_token="hf_secret"))

    assert model.llm.client.headers["authorization"] == "Bearer hf_secret"
    assert model.llm.async_client.headers["authorization"] == "Bearer hf_secret"


@pytest.mark.parametrize("mode", MODES)
async def test_offline_mode_is_named_as_the_reason(
    server: OpenAIServer, mode: str, monkeypatch: pytest.MonkeyPatch
):
    model = make_endpoint_chat_model(Spec(endpoint_url=server.url))
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)

    with pytest.raises(EndpointError, match="HF_HUB_OFFLINE is set") as caught:
        await ask(model, mode)

    assert server.url in str(caught.value)
    assert isinstance(caught.value.__cause__, OfflineModeIsEnabled)
