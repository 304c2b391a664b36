"""Constrained decoding on the hidden-format corpus: every chat template of
../shared/fixtures/chat_templates, under every `tool_choice` mode, on the tiny random Llama.

A random model writes no call of its own accord: whatever comes out valid is the grammar's
doing, in the markup the template teaches (ReAct for the template without tools)."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from chat_template_cases import template_cases, template_text
from constrained_checks import assert_valid_calls
from langchain_core.messages import AIMessage, AIMessageChunk

from threadloom.models.local import LocalChatModel

pytestmark = pytest.mark.slow

CITIES = ["Paris", "Rome", "Oslo"]
# Bounded arguments (a random model would write a free string or number until its budget
# ends), and a budget for markup the tiny vocabulary spells byte by byte (DeepSeek's tags).
TOOLS: list[dict[str, Any]] = [
    {
        "type": "function",
        "function": {
            "name": "weather",
            "description": "The weather in a city.",
            "parameters": {
                "type": "object",
                "properties": {
                    "city": {"type": "string", "enum": CITIES},
                    "metric": {"type": "boolean"},
                },
                "required": ["city"],
            },
        },
    },
    {
        "type": "function",
        "function": {
            "name": "convert",
            "description": "Convert money to a currency.",
            "parameters": {
                "type": "object",
                "properties": {"unit": {"type": "string", "enum": ["EUR", "USD"]}},
                "required": ["unit"],
            },
        },
    },
]
CASES = [pytest.param(case, id=case["file"]) for case in template_cases()]


_MODELS: dict[str, LocalChatModel] = {}


def _model(tiny_chat_model: LocalChatModel, case: dict[str, Any]) -> LocalChatModel:
    """One model per template for the session (its grammar compiler is built once)."""
    if case["file"] not in _MODELS:
        tokenizer = copy.deepcopy(tiny_chat_model.tokenizer)
        tokenizer.chat_template = template_text(case)
        _MODELS[case["file"]] = LocalChatModel(
            model_name="tiny",
            tokenizer=tokenizer,
            generator=tiny_chat_model.generator,
            max_new_tokens=200,
        )
    return _MODELS[case["file"]]


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("choice", ["weather", "required", "auto", "none"])
def test_every_format_obeys_every_choice(
    tiny_chat_model: LocalChatModel, case: dict[str, Any], choice: str
) -> None:
    # Free text runs to the budget (the random model never ends a reply): keep it short.
    budget = 200 if choice in ("weather", "required") else 40
    model = _model(tiny_chat_model, case).bind_tools(TOOLS, tool_choice=choice)
    reply = model.invoke("What is the weather in Paris?", max_new_tokens=budget)
    assert isinstance(reply, AIMessage)
    assert_valid_calls(reply, TOOLS)
    names = [call["name"] for call in reply.tool_calls]
    if choice == "weather":
        assert names == ["weather"]
    elif choice == "required":
        assert names
    elif choice == "none":
        assert names == []


@pytest.mark.parametrize("case", CASES)
async def test_a_streamed_forced_call_parses_in_every_format(
    tiny_chat_model: LocalChatModel, case: dict[str, Any]
) -> None:
    model = _model(tiny_chat_model, case).bind_tools(TOOLS, tool_choice="required")
    chunks = [chunk async for chunk in model.astream("Convert ten dollars")]
    message = sum(chunks[1:], chunks[0])
    assert isinstance(message, AIMessageChunk)
    assert_valid_calls(message, TOOLS)
    assert message.tool_calls


@pytest.mark.parametrize("case", CASES)
def test_structured_output_is_valid_json_in_every_template(
    tiny_chat_model: LocalChatModel, case: dict[str, Any]
) -> None:
    schema = TOOLS[0]["function"]["parameters"] | {"title": "weather"}
    answer = _model(tiny_chat_model, case).with_structured_output(schema).invoke("Weather?")
    assert answer["city"] in CITIES
