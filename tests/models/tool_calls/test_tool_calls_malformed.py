"""Broken markup becomes invalid tool calls with a reason, in one-shot and streaming parsing."""

from __future__ import annotations

import random

import pytest
from malformed_outputs import MALFORMED, MARKERS

from threadloom.models.tool_calls import FORMATS, ParsedReply, StreamSplitter, parse_reply

IDS = [f"{fmt}-{i}" for i, (fmt, _, _) in enumerate(MALFORMED)]


def test_the_corpus_covers_every_format_with_thirty_cases_or_more() -> None:
    assert len(MALFORMED) >= 30
    assert {fmt for fmt, _, _ in MALFORMED} == set(FORMATS)


@pytest.mark.parametrize(("fmt", "text", "error"), MALFORMED, ids=IDS)
def test_broken_markup_is_an_invalid_call_with_its_reason(fmt: str, text: str, error: str) -> None:
    reply = parse_reply(text, fmt)

    assert reply.invalid_tool_calls, reply
    assert any(error in bad["error"] for bad in reply.invalid_tool_calls)
    for bad in reply.invalid_tool_calls:
        assert bad["type"] == "invalid_tool_call"
        assert bad["id"].startswith("call_")
        assert bad["name"] is None or isinstance(bad["name"], str)
        assert bad["args"] is None or isinstance(bad["args"], str)
    assert not any(marker in reply.content for marker in MARKERS[fmt])


@pytest.mark.parametrize(("fmt", "text", "error"), MALFORMED, ids=IDS)
@pytest.mark.parametrize("seed", [None, 7])
def test_streaming_broken_markup_agrees_with_one_shot(
    fmt: str, text: str, error: str, seed: int | None
) -> None:
    splitter = StreamSplitter(fmt)
    rng = random.Random(seed)
    pieces, at = [], 0
    while at < len(text):
        size = 1 if seed is None else rng.randint(1, 9)
        pieces += splitter.feed(text[at : at + size])
        at += size
    streamed = ParsedReply.from_pieces(pieces + splitter.finish())
    whole = parse_reply(text, fmt)

    assert streamed.content == whole.content
    assert [b["error"] for b in streamed.invalid_tool_calls] == [
        b["error"] for b in whole.invalid_tool_calls
    ]
    assert [c["name"] for c in streamed.tool_calls] == [c["name"] for c in whole.tool_calls]


@pytest.mark.parametrize("fmt", FORMATS)
def test_empty_and_whitespace_replies_are_empty(fmt: str) -> None:
    for text in ("", "  \n "):
        reply = parse_reply(text, fmt)
        assert reply == ParsedReply(content="")


@pytest.mark.parametrize("fmt", FORMATS)
def test_random_byte_soup_never_raises(fmt: str) -> None:
    rng = random.Random(fmt)
    alphabet = "{}[]()<>|\"'=:,;\\/ \nabc_1TOOL_CALLS<tool_call>functools<｜tool▁sep｜>"
    for _ in range(200):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 60)))
        reply = parse_reply(text, fmt)
        assert all(bad["error"] for bad in reply.invalid_tool_calls)


def test_a_valid_call_next_to_a_broken_one_is_kept() -> None:
    text = (
        '<tool_call>{"name": "calculator", "arguments": {"expression": "1+1"}}</tool_call>\n'
        '<tool_call>{"name": "search", "arguments": {"query": </tool_call>'
    )

    reply = parse_reply(text, "hermes")

    assert [c["name"] for c in reply.tool_calls] == ["calculator"]
    assert [b["name"] for b in reply.invalid_tool_calls] == ["search"]
