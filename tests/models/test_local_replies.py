"""How LocalChatModel turns generated text into messages: stops, tool calls, reasoning, ReAct.

The model 'generates' fixed text through a replay generator behind the real Generator seam, so
everything after decoding (detokenisation, stop strings, markup splitting, chunking) is real.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from langchain_core.messages import AIMessage, AIMessageChunk, HumanMessage, ToolMessage
from langchain_core.tools import tool

from threadloom.models.local import LocalChatModel

ReplayModel = Callable[..., LocalChatModel]

CALL_TEXT = (
    "Let me compute that.\n<tool_call>\n"
    '{"name": "calculator", "arguments": {"expression": "25^0.43"}}\n</tool_call>'
)


@tool
def calculator(expression: str) -> str:
    """Evaluate an arithmetic expression such as 25^0.43."""
    return "3.99"


def _merge(chunks: list[AIMessageChunk]) -> AIMessageChunk:
    merged = chunks[0]
    for chunk in chunks[1:]:
        merged = merged + chunk
    return merged


def test_reply_ends_at_end_of_turn_token(replay_model: ReplayModel) -> None:
    reply = replay_model("Hello there.").invoke("Hi")
    assert reply.content == "Hello there."
    assert reply.response_metadata["finish_reason"] == "stop"


def test_stop_string_cuts_text_and_never_shows_in_chunks(replay_model: ReplayModel) -> None:
    model = replay_model("alpha beta XYZW gamma delta")
    chunks = list(model.stream("Hi", stop=["XYZW"]))
    assert "".join(str(c.content) for c in chunks) == "alpha beta"
    assert all("X" not in str(c.content) for c in chunks)
    merged = _merge(chunks)
    assert merged.response_metadata["finish_reason"] == "stop"
    # Decoding stopped at the stop string: "gamma delta" was never generated.
    generated = model.tokenizer("alpha beta XYZW", add_special_tokens=False)["input_ids"]
    assert merged.usage_metadata is not None
    assert merged.usage_metadata["output_tokens"] == len(generated)


def test_text_that_only_starts_like_a_stop_string_is_shown(replay_model: ReplayModel) -> None:
    reply = replay_model("alpha XY beta").invoke("Hi", stop=["XYZW"])
    assert reply.content == "alpha XY beta"


def test_tool_call_is_parsed_and_markup_never_streamed(replay_model: ReplayModel) -> None:
    model = replay_model(CALL_TEXT).bind_tools([calculator])
    chunks = list(model.stream("What is 25^0.43?"))
    assert all("<tool" not in str(c.content) and "{" not in str(c.content) for c in chunks)
    call_chunks = [tc for c in chunks for tc in c.tool_call_chunks]
    assert len(call_chunks) == 1
    assert call_chunks[0]["name"] == "calculator"
    assert json.loads(call_chunks[0]["args"] or "") == {"expression": "25^0.43"}
    assert call_chunks[0]["id"] and call_chunks[0]["index"] == 0
    merged = _merge(chunks)
    assert merged.content == "Let me compute that."
    assert [(c["name"], c["args"]) for c in merged.tool_calls] == [
        ("calculator", {"expression": "25^0.43"})
    ]
    assert merged.response_metadata["finish_reason"] == "tool_calls"


async def test_invoke_returns_parallel_tool_calls(replay_model: ReplayModel) -> None:
    second = '\n<tool_call>\n{"name": "search", "arguments": {"query": "Ceretti"}}\n</tool_call>'
    reply = await replay_model(CALL_TEXT + second).bind_tools([calculator]).ainvoke("Hi")
    assert isinstance(reply, AIMessage)
    assert [c["name"] for c in reply.tool_calls] == ["calculator", "search"]
    assert len({c["id"] for c in reply.tool_calls}) == 2


@pytest.mark.parametrize(
    "broken",
    [
        '<tool_call>\n{"name": "calculator", "arguments": {"expression": </tool_call>',
        '<tool_call>\n{"name": "calculator", "arguments": {"expression": "2+2"',  # unclosed
        "<tool_call>\nnot json at all\n</tool_call>",
    ],
)
def test_broken_markup_becomes_invalid_tool_call(replay_model: ReplayModel, broken: str) -> None:
    chunks = list(replay_model(broken).bind_tools([calculator]).stream("Hi"))
    merged = _merge(chunks)
    assert merged.tool_calls == []
    assert len(merged.invalid_tool_calls) == 1
    assert all("<tool_call>" not in str(c.content) for c in chunks)


def test_reasoning_goes_to_additional_kwargs(replay_model: ReplayModel) -> None:
    reply = replay_model("<think>Two and two make four.</think>\n\nIt is 4.").invoke("2+2?")
    assert reply.content == "It is 4."
    assert reply.additional_kwargs["reasoning_content"] == "Two and two make four."


def test_template_without_tools_uses_react(replay_model: ReplayModel) -> None:
    text = (
        "Thought: I need the calculator.\nAction:\n```json\n"
        '{"action": "calculator", "action_input": {"expression": "2+2"}}\n```\n'
        "Observation: 4"
    )
    model = replay_model(text, template="zephyr_7b_beta.jinja")
    assert model.resolved_tool_call_format == "none"
    chunks = list(model.bind_tools([calculator]).stream("What is 2+2?"))
    merged = _merge(chunks)
    assert [(c["name"], c["args"]) for c in merged.tool_calls] == [
        ("calculator", {"expression": "2+2"})
    ]
    assert all("Observation" not in str(c.content) for c in chunks)
    assert merged.additional_kwargs["reasoning_content"] == "I need the calculator."


def test_multibyte_characters_stream_whole(replay_model: ReplayModel) -> None:
    text = "Ünïcödé ℵ𝔘 東京 🙂"
    chunks = list(replay_model(text).stream("Hi"))
    assert "".join(str(c.content) for c in chunks) == text
    assert all("\ufffd" not in str(c.content) for c in chunks)


CALL_2_PLUS_2 = {"name": "calculator", "args": {"expression": "2+2"}, "id": "a"}


def test_qwen3_template_renders_history_and_splits_reasoning(replay_model: ReplayModel) -> None:
    text = (
        "<think>\nThe user wants a power; the calculator does that.\n</think>\n\n" + CALL_TEXT
    )
    model = replay_model(text, template="qwen3.jinja").bind_tools([calculator])
    history = [
        HumanMessage("What is 2+2?"),
        AIMessage("", tool_calls=[CALL_2_PLUS_2]),
        ToolMessage("4", tool_call_id="a", name="calculator"),
        AIMessage("It is 4."),
        HumanMessage("And 25^0.43?"),
    ]
    reply = model.invoke(history)
    assert isinstance(reply, AIMessage)
    assert reply.additional_kwargs["reasoning_content"] == (
        "The user wants a power; the calculator does that."
    )
    assert reply.content == "Let me compute that."
    assert reply.tool_calls[0]["args"] == {"expression": "25^0.43"}


def test_chat_template_kwargs_reach_the_template(replay_model: ReplayModel) -> None:
    no_thinking = {"enable_thinking": False}
    model = replay_model("ok", template="qwen3.jinja", chat_template_kwargs=no_thinking)
    assert model.render_prompt([HumanMessage("Hi")]).endswith("<think>\n\n</think>\n\n")
