"""`chat_model()`: the configured model for any graph, built once per spec and shared."""

from __future__ import annotations

import dataclasses
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from langgraph.graph import START, MessagesState, StateGraph
from langgraph.prebuilt import ToolNode, tools_condition

from threadloom.models import ModelSpec, chat_model
from threadloom.models.local import LocalChatModel
from threadloom.models.openai_endpoint import OpenAIEndpointModel
from threadloom.models.remote import EndpointChatModel
from threadloom.tools.calculator import calculator


@pytest.fixture
def tiny_spec(tiny_model_dir: Path) -> ModelSpec:
    return ModelSpec(model=str(tiny_model_dir), device="cpu")


def test_configuration_comes_from_threadloom_variables(
    tiny_model_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("THREADLOOM_MODEL", str(tiny_model_dir))
    monkeypatch.setenv("THREADLOOM_DEVICE", "cpu")
    monkeypatch.setenv("THREADLOOM_MAX_NEW_TOKENS", "17")

    model = chat_model()

    assert isinstance(model, LocalChatModel)
    assert model.model_name == str(tiny_model_dir) and model.max_new_tokens == 17
    assert chat_model() is model


def test_many_callers_at_once_share_one_load(tiny_spec: ModelSpec) -> None:
    spec = dataclasses.replace(tiny_spec, max_queue=7)  # a spec no other test loaded
    with ThreadPoolExecutor(4) as pool:
        models = list(pool.map(lambda _: chat_model(spec), range(8)))

    assert all(model is models[0] for model in models)


def test_sampling_overrides_share_the_weights_and_the_scheduler(tiny_spec: ModelSpec) -> None:
    base = chat_model(tiny_spec)
    short = chat_model(tiny_spec, max_new_tokens=3, temperature=0.7)

    assert isinstance(base, LocalChatModel) and isinstance(short, LocalChatModel)
    assert short is not base and short is chat_model(tiny_spec, max_new_tokens=3, temperature=0.7)
    assert (short.max_new_tokens, short.temperature) == (3, 0.7)
    assert (base.max_new_tokens, base.temperature) == (256, 0.0)
    assert short.generator is base.generator and short.tokenizer is base.tokenizer
    assert short.invoke("hi").usage_metadata["output_tokens"] == 3


def test_an_unknown_override_is_refused(tiny_spec: ModelSpec) -> None:
    with pytest.raises(TypeError, match="max_tokens"):
        chat_model(tiny_spec, max_tokens=3)


@pytest.mark.parametrize(
    ("kind", "client"), [("huggingface", EndpointChatModel), ("openai", OpenAIEndpointModel)]
)
def test_an_endpoint_gives_a_remote_chat_model_without_contacting_it(
    kind: str, client: type
) -> None:
    spec = ModelSpec(
        model="Qwen/Qwen2.5-7B-Instruct", endpoint_url="http://127.0.0.1:9", endpoint_kind=kind
    )

    model = chat_model(spec, temperature=0.3)

    assert isinstance(model, client)
    assert model.temperature == 0.3
    assert chat_model(spec, temperature=0.3) is model


def test_the_bundled_model_calls_tools_once_bound() -> None:
    model = chat_model(ModelSpec(), max_new_tokens=64).bind_tools([calculator])

    reply = model.invoke("compute 17*23")

    assert [(call["name"], call["args"]) for call in reply.tool_calls] == [
        ("calculator", {"expression": "17*23"})
    ]


def test_a_users_own_graph_gets_tool_calling_from_it() -> None:
    """The example of docs/graphs.md and the README: LangGraph's ToolNode around our model."""
    model = chat_model(ModelSpec()).bind_tools([calculator])

    def agent(state: MessagesState) -> dict:
        return {"messages": [model.invoke(state["messages"])]}

    builder = StateGraph(MessagesState)
    builder.add_node(agent)
    builder.add_node("tools", ToolNode([calculator]))
    builder.add_edge(START, "agent")
    builder.add_conditional_edges("agent", tools_condition)
    builder.add_edge("tools", "agent")

    result = builder.compile().invoke({"messages": [("user", "compute 17*23")]})

    assert [m.content for m in result["messages"][2:]] == ["391", "The answer is 391."]
