"""`tool_choice` on the bundled model: the issue's questions under every mode, streamed and
not, batched beside free requests, and cancelled in the middle of a call."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator

import pytest
from constrained_checks import assert_valid_calls
from langchain_core.messages import AIMessageChunk, HumanMessage
from langchain_core.tools import tool
from langchain_core.utils.function_calling import convert_to_openai_tool

from threadloom.models.batching import BatchScheduler, StepReport
from threadloom.models.generation import SamplingParams, TokenEvent
from threadloom.models.loading import load_local_model
from threadloom.models.local import LocalChatModel
from threadloom.models.output_constraint import OutputConstraints

QUESTIONS = ["hello there", "tell me a joke", "what is the capital of France?"]


@tool
def weather(city: str) -> str:
    """The current weather in a city."""
    return f"sunny in {city}"


@tool
def convert(amount: float, unit: str) -> str:
    """Convert an amount of money to another currency unit."""
    return f"{amount} {unit}"


TOOLS = [weather, convert]


@pytest.fixture(scope="module")
def bundled() -> Iterator[LocalChatModel]:
    model = load_local_model("bundled", device="cpu", max_new_tokens=96, max_batch_size=4)
    yield model
    model.generator.shutdown()


@pytest.mark.parametrize("question", QUESTIONS)
def test_a_named_tool_is_called_exactly_once_with_valid_arguments(
    bundled: LocalChatModel, question: str
) -> None:
    reply = bundled.bind_tools(TOOLS, tool_choice="weather").invoke(question)
    assert_valid_calls(reply, TOOLS)
    assert [call["name"] for call in reply.tool_calls] == ["weather"]


@pytest.mark.parametrize("choice", ["required", "any", True])
@pytest.mark.parametrize("question", QUESTIONS)
def test_required_gives_calls_of_bound_tools_only(
    bundled: LocalChatModel, question: str, choice: str | bool
) -> None:
    reply = bundled.bind_tools(TOOLS, tool_choice=choice).invoke(question)
    assert_valid_calls(reply, TOOLS)
    assert reply.tool_calls


@pytest.mark.parametrize("question", [*QUESTIONS, "What is 25^0.43?"])
def test_auto_calls_are_of_bound_tools_with_valid_arguments(
    bundled: LocalChatModel, question: str
) -> None:
    # The bundled model reaches for `calculator` and `search`, neither bound here.
    reply = bundled.bind_tools(TOOLS).invoke(question)
    assert_valid_calls(reply, TOOLS)
    assert reply.tool_calls or reply.content


@pytest.mark.parametrize("question", [*QUESTIONS, "What is 25^0.43?"])
def test_none_writes_no_call_markup(bundled: LocalChatModel, question: str) -> None:
    reply = bundled.bind_tools(TOOLS, tool_choice="none").invoke(question)
    assert reply.tool_calls == [] and reply.invalid_tool_calls == []
    assert "<tool_call>" not in reply.content


def test_a_choice_naming_no_bound_tool_is_refused(bundled: LocalChatModel) -> None:
    with pytest.raises(ValueError, match="names no bound tool"):
        bundled.bind_tools(TOOLS, tool_choice="search")


async def test_a_streamed_forced_call_is_the_same_valid_call(bundled: LocalChatModel) -> None:
    model = bundled.bind_tools(TOOLS, tool_choice="convert")
    chunks = [chunk async for chunk in model.astream("tell me a joke")]
    streamed = sum(chunks[1:], chunks[0])
    assert isinstance(streamed, AIMessageChunk)
    assert_valid_calls(streamed, TOOLS)
    whole = await model.ainvoke("tell me a joke")
    assert [c["args"] for c in streamed.tool_calls] == [c["args"] for c in whole.tool_calls]


async def test_constrained_and_free_requests_share_a_batch(bundled: LocalChatModel) -> None:
    scheduler = bundled.generator
    assert isinstance(scheduler, BatchScheduler)
    free_alone = await bundled.ainvoke("tell me a joke")
    steps: list[StepReport] = []
    scheduler.on_step = steps.append
    try:
        forced = bundled.bind_tools(TOOLS, tool_choice="required")
        replies = await asyncio.gather(
            forced.ainvoke("hello there"),
            bundled.ainvoke("tell me a joke"),
            forced.ainvoke("what is the capital of France?"),
        )
    finally:
        scheduler.on_step = None
    assert max(len(step.batch) for step in steps) >= 2
    for reply in (replies[0], replies[2]):
        assert_valid_calls(reply, TOOLS)
        assert reply.tool_calls
    assert replies[1].content == free_alone.content  # a free row is untouched by the others


def test_a_call_cancelled_midway_leaves_the_next_one_valid(bundled: LocalChatModel) -> None:
    scheduler = bundled.generator
    assert isinstance(scheduler, BatchScheduler)
    schemas = [convert_to_openai_tool(t) for t in TOOLS]
    text = bundled.render_prompt([HumanMessage("what is the capital of France?")], TOOLS)
    prompt = bundled.tokenizer(text, add_special_tokens=False)["input_ids"]
    constraints = OutputConstraints(bundled.tokenizer, scheduler.eos_token_ids)
    params = SamplingParams(
        max_new_tokens=96, grammar=constraints.for_tools("hermes", schemas, "weather")
    )
    cancel = threading.Event()
    tokens: list[int] = []
    ended = threading.Event()

    def hand_over(item: TokenEvent | BaseException | None) -> None:
        if isinstance(item, TokenEvent):
            tokens.append(item.token_id)
        elif item is None:
            ended.set()

    def cancel_on_third_token(report: StepReport) -> None:
        if len(tokens) >= 3:
            cancel.set()  # seen before the next step: the request leaves inside its call

    scheduler.on_step = cancel_on_third_token
    try:
        scheduler.submit(prompt, params, cancel, hand_over)
        assert ended.wait(60)
    finally:
        scheduler.on_step = None
    assert 3 <= len(tokens) < 10
    assert bundled.tokenizer.decode(tokens).startswith("<tool_call>")
    reply = bundled.bind_tools(TOOLS, tool_choice="weather").invoke(
        "what is the capital of France?"
    )
    assert_valid_calls(reply, TOOLS)
    assert [call["name"] for call in reply.tool_calls] == ["weather"]
