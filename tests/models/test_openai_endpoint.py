"""The OpenAI-compatible endpoint model against the loopback OpenAI-wire server.

It covers what the real `transformers serve` of tests/e2e does not: parsed `tool_calls`,
`tool_choice`, usage in streams, sampling options, keys, retries and each kind of failure.
"""

from __future__ import annotations

import logging
import operator
import socket
from collections.abc import Iterator
from dataclasses import replace
from functools import reduce
from pathlib import Path

import pytest
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from langchain_core.runnables import Runnable
from langchain_core.tools import tool
from openai_server import OpenAIServer, Reply, ToolCallReply

from tests.e2e.server_process import ServerProcess
from threadloom.models.endpoint_errors import EndpointError
from threadloom.models.factory import ModelSpec, endpoint_kind, load_chat_model
from threadloom.models.openai_endpoint import (
    MARKUP_KEY,
    OpenAIEndpointModel,
    make_openai_chat_model,
)
from threadloom.models.remote import EndpointChatModel
from threadloom.models.tool_calls import UnknownFormatError

SERVED = "org/tiny-chat"
MODES = ["invoke", "ainvoke", "stream", "astream"]
QUESTION = [HumanMessage("What is 2 + 3, and 4 * 5?")]
ADD_CALL = '<tool_call>\n{"name": "add", "arguments": {"a": 2, "b": 3}}\n</tool_call>'
MARKUP_REPLY = "Let me add.\n" + ADD_CALL


@tool
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


@tool
def multiply(a: int, b: int) -> int:
    """Multiply two integers."""
    return a * b


def spec_for(url: str, **fields: object) -> ModelSpec:
    base = ModelSpec(
        endpoint_url=url, max_new_tokens=32, endpoint_max_retries=0, tool_call_format="hermes"
    )
    return replace(base, **fields)


@pytest.fixture
def server() -> Iterator[OpenAIServer]:
    with OpenAIServer() as running:
        yield running


@pytest.fixture
def model(server: OpenAIServer) -> OpenAIEndpointModel:
    return make_openai_chat_model(spec_for(server.url))


@pytest.fixture
def closed_port_url() -> Iterator[str]:
    """A loopback URL that refuses connections: bound, never listening."""
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


def test_the_factory_picks_the_client_by_url_or_setting(server: OpenAIServer) -> None:
    assert endpoint_kind("http://127.0.0.1:8000") == "openai"
    assert endpoint_kind("https://x1.us-east-1.aws.endpoints.huggingface.cloud") == "huggingface"
    assert endpoint_kind("https://router.huggingface.co/v1") == "huggingface"
    assert endpoint_kind("https://x1.endpoints.huggingface.cloud", "openai") == "openai"

    assert isinstance(load_chat_model(spec_for(server.url)), OpenAIEndpointModel)
    hf = load_chat_model(spec_for(server.url, endpoint_kind="huggingface"))
    assert isinstance(hf, EndpointChatModel)
    assert hf.model_id == SERVED


@pytest.mark.parametrize("mode", MODES)
async def test_plain_answer_to_the_only_served_model(
    model: OpenAIEndpointModel, server: OpenAIServer, mode: str
):
    server.script(Reply(content="Five and twenty.", prompt_tokens=11, completion_tokens=4))

    reply = await ask(model, mode)

    assert reply.content == "Five and twenty."
    assert reply.tool_calls == []
    usage = reply.usage_metadata
    assert (usage["input_tokens"], usage["output_tokens"], usage["total_tokens"]) == (11, 4, 15)
    sent = server.requests[0]
    assert sent["model"] == SERVED  # found at /v1/models
    assert sent["messages"] == [{"role": "user", "content": "What is 2 + 3, and 4 * 5?"}]
    assert sent["max_tokens"] == 32
    assert sent["temperature"] == 0.0  # greedy is kept, not dropped as falsy
    # Only OpenAI fields: `transformers serve` answers 422 to any other.
    streamed = {"stream", "stream_options"} if mode in ("stream", "astream") else {"stream"}
    assert set(sent) <= {"model", "messages", "max_tokens", "temperature", *streamed}


@pytest.mark.parametrize("mode", ["stream", "astream"])
async def test_streams_ask_for_usage(model: OpenAIEndpointModel, server: OpenAIServer, mode: str):
    server.script(Reply(content="Five.", prompt_tokens=7, completion_tokens=2))

    reply = await ask(model, mode)

    assert server.requests[0]["stream"] is True
    assert server.requests[0]["stream_options"] == {"include_usage": True}
    assert reply.usage_metadata["total_tokens"] == 9


def test_several_served_models_need_a_choice() -> None:
    with OpenAIServer(models=("org/a", "org/b")) as server:
        with pytest.raises(EndpointError, match=r"several models \(org/a, org/b\).*ENDPOINT_MODEL"):
            make_openai_chat_model(spec_for(server.url))
        # THREADLOOM_MODEL naming one of them picks it.
        picked = make_openai_chat_model(spec_for(server.url, model="org/b"))
        server.script(Reply(content="ok"))
        picked.invoke(QUESTION)

    assert server.requests[0]["model"] == "org/b"


@pytest.mark.slow
def test_threadloom_serve_will_not_start_without_a_model_that_fits(tmp_path: Path) -> None:
    process = ServerProcess(tmp_path / "threadloom.sqlite")
    with OpenAIServer(models=("org/a", "org/b")) as server:
        process.env["THREADLOOM_ENDPOINT_URL"] = server.url
        with pytest.raises(RuntimeError, match="did not start"):
            process.start()

    log = "".join(process.log)
    assert f"The model server at {server.url} offers several models (org/a, org/b)" in log
    assert "set THREADLOOM_ENDPOINT_MODEL to the one to use" in log


def test_a_server_without_a_model_list_is_a_start_up_error() -> None:
    refused = pytest.raises(EndpointError, match=r"answered 404 to GET /v1/models")
    with OpenAIServer(models=None) as server, refused as caught:
        make_openai_chat_model(spec_for(server.url))

    assert "THREADLOOM_ENDPOINT_MODEL" in str(caught.value)


def test_a_configured_name_is_sent_as_it_is(caplog: pytest.LogCaptureFixture) -> None:
    with OpenAIServer(models=("served-alias",)) as server:
        with caplog.at_level(logging.WARNING):
            model = make_openai_chat_model(spec_for(server.url, endpoint_model="my-name"))
        server.script(Reply(content="ok"))
        model.invoke(QUESTION)

    # llama.cpp's server answers any name, so a name it does not list is only warned about.
    assert "not among the models" in caplog.text and "served-alias" in caplog.text
    assert server.requests[0]["model"] == "my-name"


@pytest.mark.parametrize("mode", MODES)
async def test_unreachable_at_start_up_is_looked_up_again_per_call(
    closed_port_url: str, mode: str
):
    model = make_openai_chat_model(spec_for(closed_port_url))  # does not raise

    with pytest.raises(EndpointError, match="Cannot reach the model endpoint") as caught:
        await ask(model, mode)

    assert closed_port_url in str(caught.value)
    assert "THREADLOOM_ENDPOINT_URL" in str(caught.value)
    assert caught.value.status_code is None


@pytest.mark.parametrize("mode", ["invoke", "astream"])
async def test_a_server_still_loading_at_start_up_is_asked_again(server: OpenAIServer, mode: str):
    server.loading = True
    model = make_openai_chat_model(spec_for(server.url))  # does not raise
    server.loading = False
    server.script(Reply(content="ok"))

    assert (await ask(model, mode)).content == "ok"
    assert server.requests[0]["model"] == SERVED


def test_the_api_key_is_sent_to_every_route(server: OpenAIServer) -> None:
    model = make_openai_chat_model(spec_for(server.url, endpoint_api_key="sk-local"))
    server.script(Reply(content="ok"))

    model.invoke(QUESTION)

    assert [headers["authorization"] for headers in server.headers] == ["Bearer sk-local"] * 2


@pytest.mark.parametrize("mode", MODES)
async def test_parsed_tool_calls(model: OpenAIEndpointModel, server: OpenAIServer, mode: str):
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
    assert MARKUP_KEY not in reply.response_metadata
    assert [tool["function"]["name"] for tool in server.requests[0]["tools"]] == ["add", "multiply"]


@pytest.mark.parametrize("mode", MODES)
async def test_markup_left_in_the_text_becomes_tool_calls(
    model: OpenAIEndpointModel, server: OpenAIServer, mode: str
):
    server.script(Reply(content=MARKUP_REPLY, prompt_tokens=9, completion_tokens=20))

    reply = await ask(model.bind_tools([add]), mode)

    assert reply.content == "Let me add."
    assert [(c["name"], c["args"]) for c in reply.tool_calls] == [("add", {"a": 2, "b": 3})]
    assert reply.invalid_tool_calls == []
    assert reply.response_metadata[MARKUP_KEY] == "hermes"
    assert reply.usage_metadata["total_tokens"] == 29


async def test_streamed_markup_never_shows(model: OpenAIEndpointModel, server: OpenAIServer):
    server.script(Reply(content=MARKUP_REPLY + "\nDone."))

    chunks = [chunk async for chunk in model.bind_tools([add]).astream(QUESTION)]

    texts = [chunk.content for chunk in chunks if chunk.content]
    assert len(texts) > 2, "text still streams in pieces"
    assert "".join(texts).split() == ["Let", "me", "add.", "Done."]
    assert not any("<" in text or "{" in text for text in texts)
    calls = [piece for chunk in chunks for piece in chunk.tool_call_chunks]
    assert [call["name"] for call in calls] == ["add"]
    assert len({chunk.id for chunk in chunks}) == 1, "one message id for the whole reply"


async def test_a_cut_off_call_is_an_invalid_call_not_text(
    model: OpenAIEndpointModel, server: OpenAIServer
):
    server.script(Reply(content='<tool_call>\n{"name": "add", "arguments": {"a": 2'))

    reply = await ask(model.bind_tools([add]), "astream")

    assert reply.content == ""
    assert reply.tool_calls == []
    assert [call["name"] for call in reply.invalid_tool_calls] == ["add"]


async def test_replies_read_from_markup_go_back_as_written(
    model: OpenAIEndpointModel, server: OpenAIServer
):
    call = {"name": "add", "args": {"a": 2, "b": 3}, "id": "call_1"}
    history = [
        HumanMessage("What is 2 + 3?"),
        AIMessage("Let me add.", tool_calls=[call], response_metadata={MARKUP_KEY: "hermes"}),
        ToolMessage("5", tool_call_id="call_1"),
        HumanMessage("And 2 + 4?"),
        AIMessage("", tool_calls=[{**call, "id": "call_2"}]),
        ToolMessage("6", tool_call_id="call_2"),
    ]
    server.script(Reply(content="5 and 6."))

    await ask(model.bind_tools([add]), "ainvoke", history)

    sent = server.requests[0]["messages"]
    # As the model wrote it: `transformers serve` drops the text beside `tool_calls`.
    assert sent[1] == {"role": "assistant", "content": MARKUP_REPLY}
    assert sent[2] == {"role": "tool", "content": "5", "tool_call_id": "call_1"}
    # Calls the server parsed itself go back as `tool_calls`.
    assert sent[4]["tool_calls"][0]["function"] == {"name": "add", "arguments": '{"a": 2, "b": 3}'}


CHOICES = [
    ("auto", "auto"),
    ("none", "none"),
    ("required", "required"),
    ("any", "required"),
    (True, "required"),
    ("multiply", {"type": "function", "function": {"name": "multiply"}}),
]


def test_the_markup_format_comes_from_the_setting_or_a_template_on_disk(
    server: OpenAIServer, tmp_path: Path
) -> None:
    # The served model is a folder here (as `transformers serve ./folder` names it): its
    # template teaches Mistral's markup.
    (tmp_path / "chat_template.jinja").write_text("{{ '[TOOL_CALLS]' }}{{ messages }}")
    served_folder = spec_for(server.url, tool_call_format="auto", endpoint_model=str(tmp_path))
    assert make_openai_chat_model(served_folder).markup_format == "mistral"
    # Else THREADLOOM_MODEL's template (the bundled model's: hermes).
    assert make_openai_chat_model(spec_for(server.url, tool_call_format="auto")).markup_format == (
        "hermes"
    )
    pythonic = spec_for(server.url, tool_call_format="pythonic", endpoint_model=str(tmp_path))
    assert make_openai_chat_model(pythonic).markup_format == "pythonic"
    with pytest.raises(UnknownFormatError, match="unknown tool-call format 'bogus'"):
        make_openai_chat_model(spec_for(server.url, tool_call_format="bogus"))


@pytest.mark.parametrize(("choice", "sent"), CHOICES)
async def test_tool_choice(
    model: OpenAIEndpointModel, server: OpenAIServer, choice: str | bool, sent: str | dict
):
    server.script(Reply(content="ok"))

    await ask(model.bind_tools([add, multiply], tool_choice=choice), "ainvoke")

    assert server.requests[0]["tool_choice"] == sent
    assert len(server.requests[0]["tools"]) == 2


def test_tool_choice_naming_an_unbound_tool_is_refused(model: OpenAIEndpointModel):
    with pytest.raises(ValueError, match=r"names no bound tool.*add, multiply"):
        model.bind_tools([add, multiply], tool_choice="divide")


@pytest.mark.parametrize("mode", MODES)
async def test_sampling_options_reach_the_request(server: OpenAIServer, mode: str):
    model = make_openai_chat_model(spec_for(server.url)).model_copy(
        update={"top_p": 0.8, "seed": 7, "top_k": 40, "repetition_penalty": 1.05}
    )
    server.script(Reply(content="a"), Reply(content="b"))

    await ask(model, mode)
    # Call options win over the model's, and names the OpenAI client lacks still reach the server.
    await ask(model.bind(top_p=0.5, seed=11, repetition_penalty=1.2, min_p=0.1), mode)

    first, second = server.requests
    assert (first["top_p"], first["seed"], first["top_k"], first["repetition_penalty"]) == (
        0.8, 7, 40, 1.05
    )
    assert (second["top_p"], second["seed"], second["repetition_penalty"]) == (0.5, 11, 1.2)
    assert second["min_p"] == 0.1


def test_connection_failures_are_retried(server: OpenAIServer):
    model = make_openai_chat_model(spec_for(server.url, endpoint_max_retries=1))
    server.script(Reply(status=503, error="Model is loading"), Reply(content="ok"))

    assert model.invoke(QUESTION).content == "ok"
    assert len(server.requests) == 2


MISSING_MODEL = f"The model `{SERVED}` does not exist"
# case: (reply, the server's message as the error must quote it, the hint it must give)
ERROR_REPLIES = {
    "tgi-422": (
        Reply(status=422, error="Input validation error: `inputs` too long"),
        "Input validation error: `inputs` too long",
        "rejected",
    ),
    "key-401": (Reply(status=401, error="Invalid credentials"), "Invalid credentials", "API_KEY"),
    "tgi-503": (Reply(status=503, error="Model is overloaded"), "Model is overloaded", "retry"),
    "vllm-404": (
        Reply(status=404, error_body={"object": "error", "message": MISSING_MODEL, "code": 404}),
        MISSING_MODEL,
        f"offers the models {SERVED}",
    ),
    "transformers-serve-400": (
        Reply(status=400, error_body={"detail": "Server is pinned to 'x'; requested 'y'."}),
        "Server is pinned to 'x'; requested 'y'",
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
    model: OpenAIEndpointModel, server: OpenAIServer, mode: str, case: str
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
    model: OpenAIEndpointModel, server: OpenAIServer, mode: str
):
    server.script(Reply(content="Partial answer", error="Request failed during generation"))

    with pytest.raises(EndpointError, match=r"failed while generating.*during generation"):
        await ask(model, mode)


def test_a_server_that_never_answers_times_out():
    with socket.socket() as sock:  # accepts connections, never answers
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        model = make_openai_chat_model(
            spec_for(url, endpoint_model=SERVED, endpoint_timeout_s=0.5)
        )

        with pytest.raises(EndpointError, match="did not answer in time") as caught:
            model.invoke(QUESTION)

    assert "THREADLOOM_ENDPOINT_TIMEOUT_S" in str(caught.value)
