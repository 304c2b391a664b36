"""The committed bundled model: loads offline with plain transformers and runs the agent loop."""

from __future__ import annotations

import pytest
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from threadloom.models.bundled import BUNDLED_MODEL_DIR
from threadloom.models.tiny_model_kit.dataset import (
    DEFAULT_SYSTEM_PROMPT,
    build_conversations,
    tool_schemas,
)
from threadloom.models.tiny_model_kit.evaluate import DEMO_QUESTION, Agent
from threadloom.models.tool_calls import detect_format, parse_tool_calls
from threadloom.service.settings import DEFAULT_SYSTEM_PROMPT as SERVICE_SYSTEM_PROMPT
from threadloom.tools.calculator import evaluate, format_number
from threadloom.tools.search import bundled_index


@pytest.fixture(scope="module")
def tokenizer():
    return AutoTokenizer.from_pretrained(BUNDLED_MODEL_DIR)


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return AutoModelForCausalLM.from_pretrained(BUNDLED_MODEL_DIR)


def _reply(model, tokenizer, messages: list[dict]) -> str:
    inputs = tokenizer.apply_chat_template(
        [{"role": "system", "content": DEFAULT_SYSTEM_PROMPT}, *messages],
        tools=tool_schemas(),
        add_generation_prompt=True,
        return_dict=True,
        return_tensors="pt",
    )
    with torch.inference_mode():
        output = model.generate(**inputs, max_new_tokens=80, do_sample=False)
    return tokenizer.decode(output[0, inputs["input_ids"].shape[1] :], skip_special_tokens=True)


def test_template_is_read_as_hermes_and_lists_the_tools(tokenizer):
    prompt = tokenizer.apply_chat_template(
        [{"role": "user", "content": "hi"}], tools=tool_schemas(), tokenize=False
    )

    assert detect_format(tokenizer.chat_template) == "hermes"
    assert "calculator(expression)" in prompt
    assert "search(query)" in prompt


def test_trained_on_the_service_default_system_prompt():
    assert DEFAULT_SYSTEM_PROMPT == SERVICE_SYSTEM_PROMPT


def test_arithmetic_question_calls_the_calculator(model, tokenizer):
    text = _reply(model, tokenizer, [{"role": "user", "content": "What is 25^0.43?"}])

    assert "<tool_call>" in text
    calls = parse_tool_calls(text, "hermes")
    assert [(call["name"], call["args"]) for call in calls] == [
        ("calculator", {"expression": "25^0.43"})
    ]


def test_small_talk_is_answered_without_tools(model, tokenizer):
    text = _reply(model, tokenizer, [{"role": "user", "content": "hi"}])

    assert text.strip()
    assert "<tool_call>" not in text


def test_answer_copies_the_calculator_result(model, tokenizer):
    result = format_number(evaluate("25^0.43"))
    call = {
        "type": "function",
        "id": "call_1",
        "function": {"name": "calculator", "arguments": {"expression": "25^0.43"}},
    }
    messages = [
        {"role": "user", "content": "What is 25^0.43?"},
        {"role": "assistant", "content": "", "tool_calls": [call]},
        {"role": "tool", "tool_call_id": "call_1", "name": "calculator", "content": result},
    ]

    text = _reply(model, tokenizer, messages)

    assert "<tool_call>" not in text
    assert result in text


def test_demo_question_searches_then_calculates(model, tokenizer):
    outcome = Agent(model, tokenizer).run(DEMO_QUESTION, bundled_index())

    assert [name for name, _ in outcome.calls] == ["search", "calculator"]
    assert outcome.calls[1][1] == {"expression": "28^0.43"}
    assert "Vittoria Ceretti" in outcome.answer
    assert format_number(evaluate("28^0.43")) in outcome.answer


def test_training_conversations_are_the_same_for_the_same_seed():
    first, again = build_conversations(40, seed=3), build_conversations(40, seed=3)

    assert [c.messages for c in first] == [c.messages for c in again]
    assert [c.messages for c in first] != [c.messages for c in build_conversations(40, seed=4)]
