"""LocalChatModel on a real (tiny, random) transformers model: prompt, streaming, limits, cancel."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from langchain_core.messages import AIMessage, AIMessageChunk, HumanMessage, ToolMessage
from langchain_core.tools import tool

from threadloom.models.local import LocalChatModel
from threadloom.models.prompt import PromptBuilder


@tool
def calculator(expression: str) -> str:
    """Evaluate an arithmetic expression such as 25^0.43."""
    return "3.99"


HISTORY = [
    HumanMessage("What is 25^0.43?"),
    AIMessage(
        "", tool_calls=[{"name": "calculator", "args": {"expression": "25^0.43"}, "id": "c1"}]
    ),
    ToolMessage("3.9914", tool_call_id="c1", name="calculator"),
]


def _merge(chunks: list[AIMessageChunk]) -> AIMessageChunk:
    merged = chunks[0]
    for chunk in chunks[1:]:
        merged = merged + chunk
    return merged


def test_prompt_carries_tool_schemas_and_tool_results(tiny_chat_model: LocalChatModel) -> None:
    text = tiny_chat_model.render_prompt(HISTORY, [calculator])
    assert '"name": "calculator"' in text
    assert "Evaluate an arithmetic expression" in text
    assert "<tool_response>\n3.9914\n</tool_response>" in text
    assert text.endswith("<|im_start|>assistant\n")


def test_tool_result_in_history_is_answered(tiny_chat_model: LocalChatModel) -> None:
    reply = tiny_chat_model.bind_tools([calculator]).invoke(HISTORY)
    assert isinstance(reply, AIMessage)
    assert reply.usage_metadata is not None and reply.usage_metadata["output_tokens"] > 0


def test_stream_concatenates_to_invoke_result(tiny_chat_model: LocalChatModel) -> None:
    chunks = list(tiny_chat_model.stream("Tell me a story"))
    reply = tiny_chat_model.invoke("Tell me a story")
    texts = [chunk.content for chunk in chunks if chunk.content]
    assert len(texts) >= 3
    assert "".join(texts) == reply.content
    assert _merge(chunks).usage_metadata == reply.usage_metadata


async def test_async_stream_matches_sync(tiny_chat_model: LocalChatModel) -> None:
    chunks = [chunk async for chunk in tiny_chat_model.astream("Tell me a story")]
    reply = await tiny_chat_model.ainvoke("Tell me a story")
    assert "".join(str(c.content) for c in chunks) == reply.content
    assert reply.content == tiny_chat_model.invoke("Tell me a story").content


def test_usage_counts_prompt_and_generated_tokens(tiny_chat_model: LocalChatModel) -> None:
    prompt = PromptBuilder(tiny_chat_model.tokenizer).build([HumanMessage("Hi")], [])
    reply = tiny_chat_model.invoke("Hi", max_new_tokens=7)
    assert reply.usage_metadata == {
        "input_tokens": len(prompt.input_ids),
        "output_tokens": 7,
        "total_tokens": len(prompt.input_ids) + 7,
    }
    assert reply.response_metadata["finish_reason"] == "length"
    assert reply.response_metadata["model_name"] == tiny_chat_model.model_name


def test_max_new_tokens_field_limits_reply(tiny_chat_model: LocalChatModel) -> None:
    short = tiny_chat_model.model_copy(update={"max_new_tokens": 3})
    reply = short.invoke("Tell me a story")
    assert reply.usage_metadata is not None and reply.usage_metadata["output_tokens"] == 3
    assert reply.response_metadata["finish_reason"] == "length"


def test_same_seed_samples_the_same_reply(tiny_chat_model: LocalChatModel) -> None:
    def sample(seed: int) -> str:
        return str(tiny_chat_model.invoke("Hi", temperature=1.0, top_p=0.9, seed=seed).content)

    assert sample(1) == sample(1)
    assert len({sample(seed) for seed in range(4)}) > 1


async def test_cancelled_consumer_stops_decoding(
    counting_model: tuple[LocalChatModel, Any],
) -> None:
    model, counter = counting_model
    full = await model.ainvoke("Tell me a story")
    assert full.usage_metadata is not None and full.usage_metadata["output_tokens"] == 200
    counter.steps = 0
    counter.ended.clear()
    first_chunk = asyncio.Event()

    async def consume() -> None:
        async for _ in model.astream("Tell me a story"):
            first_chunk.set()

    task = asyncio.create_task(consume())
    await first_chunk.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await asyncio.to_thread(counter.ended.wait, 30)
    assert counter.steps < 20


def test_closing_sync_stream_stops_decoding(
    counting_model: tuple[LocalChatModel, Any],
) -> None:
    model, counter = counting_model
    stream = model.stream("Tell me a story")
    next(stream)
    stream.close()
    assert counter.ended.wait(30)
    assert counter.steps < 20


async def test_concurrent_requests_all_complete(tiny_chat_model: LocalChatModel) -> None:
    prompts = ["Hi", "Tell me a story", "What is 25^0.43?"]
    replies = await asyncio.gather(*(tiny_chat_model.ainvoke(p) for p in prompts))
    assert [r.content for r in replies] == [tiny_chat_model.invoke(p).content for p in prompts]
