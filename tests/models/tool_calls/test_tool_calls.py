"""Tool-call parsing and streaming against the example outputs of real chat templates."""

from __future__ import annotations

import random
import re

import pytest
from chat_template_cases import example_outputs, template_cases, template_text
from malformed_outputs import MARKERS

from threadloom.models.tool_calls import (
    FORMATS,
    ParsedReply,
    Piece,
    StreamSplitter,
    UnknownFormatError,
    detect_format,
    parse_reply,
    parse_tool_calls,
)
from threadloom.models.tool_calls.writing import write_calls

EXAMPLES = example_outputs()
EXAMPLE_IDS = [example_id for example_id, _, _ in EXAMPLES]
EXPECTED_CALLS = {
    "calculator": {"expression": "25**0.43"},
    "search": {"query": "vittoria ceretti age"},
}


def stream(text: str, fmt: str, chunks: list[str] | None = None, **kwargs: bool) -> list[Piece]:
    splitter = StreamSplitter(fmt, **kwargs)
    pieces: list[Piece] = []
    for chunk in chunks if chunks is not None else list(text):
        pieces += splitter.feed(chunk)
    return pieces + splitter.finish()


def random_chunks(text: str, seed: int) -> list[str]:
    rng = random.Random(seed)
    chunks, at = [], 0
    while at < len(text):
        size = rng.randint(1, 12)
        chunks.append(text[at : at + size])
        at += size
    return chunks


def calls_of(reply: ParsedReply) -> list[tuple[str, dict]]:
    return [(call["name"], call["args"]) for call in reply.tool_calls]


def test_every_format_has_fixture_examples() -> None:
    assert {fmt for _, fmt, _ in EXAMPLES} == set(FORMATS)


@pytest.mark.parametrize("case", template_cases(), ids=lambda case: case["file"])
def test_detects_the_format_of_every_fixture_template(case: dict) -> None:
    assert detect_format(template_text(case)) == case["tool_call_format"]


@pytest.mark.parametrize(("example_id", "fmt", "text"), EXAMPLES, ids=EXAMPLE_IDS)
def test_parses_fixture_examples(example_id: str, fmt: str, text: str) -> None:
    reply = parse_reply(text, fmt)

    expected = list(EXPECTED_CALLS.items())[: 2 if example_id.endswith("parallel") else 1]
    assert calls_of(reply) == expected
    assert reply.invalid_tool_calls == []
    assert reply.content == ""
    written_ids = re.findall(r'"id":\s*"([^"]+)"', text)
    for at, call in enumerate(reply.tool_calls):
        assert call["type"] == "tool_call"
        if written_ids:  # the model's own id is kept (Mistral)
            assert call["id"] == written_ids[at]
        else:
            assert re.fullmatch(r"call_[0-9a-f]+", call["id"])
    assert len({call["id"] for call in reply.tool_calls}) == len(reply.tool_calls)


def test_mistral_call_ids_are_kept_in_every_variant() -> None:
    listed = parse_reply(
        '[TOOL_CALLS][{"name": "calculator", "arguments": {"expression": "1"}, '
        '"id": "a1B2c3D4e"}, {"name": "search", "arguments": {"query": "q"}, "id": "Z9y8X7w6v"}]',
        "mistral",
    )
    tokened = parse_reply(
        '[TOOL_CALLS]calculator[CALL_ID]a1B2c3D4e[ARGS]{"expression": "1"}', "mistral"
    )
    streamed = ParsedReply.from_pieces(
        stream('[TOOL_CALLS][{"name": "search", "arguments": {}, "id": "a1B2c3D4e"}]', "mistral")
    )

    assert [call["id"] for call in listed.tool_calls] == ["a1B2c3D4e", "Z9y8X7w6v"]
    assert [call["id"] for call in tokened.tool_calls] == ["a1B2c3D4e"]
    assert [call["id"] for call in streamed.tool_calls] == ["a1B2c3D4e"]


@pytest.mark.parametrize("written", ['"a1B2c3D4e"', '"has space"', "42", '""', "null"])
def test_a_repeated_or_odd_model_id_is_replaced_by_a_fresh_one(written: str) -> None:
    call = '{"name": "calculator", "arguments": {"expression": "1"}, "id": ' + written + "}"
    reply = parse_reply(f"[TOOL_CALLS][{call}, {call}]", "mistral")

    ids = [call["id"] for call in reply.tool_calls]
    assert len(set(ids)) == 2
    assert re.fullmatch(r"call_[0-9a-f]+", ids[1])


@pytest.mark.parametrize(("example_id", "fmt", "text"), EXAMPLES, ids=EXAMPLE_IDS)
def test_parse_tool_calls_gives_name_args_and_id(example_id: str, fmt: str, text: str) -> None:
    calls = parse_tool_calls(text, fmt)

    assert [set(call) for call in calls] == [{"name", "args", "id"}] * len(calls)
    assert calls[0]["name"] == "calculator"
    assert calls[0]["args"] == {"expression": "25**0.43"}


def test_qwen3_thinking_is_reasoning_not_content() -> None:
    text = next(t for example_id, _, t in EXAMPLES if example_id == "qwen3.jinja-output")

    reply = parse_reply(text, "hermes")

    assert reply.reasoning == "The user wants 25**0.43 computed. I'll use the calculator tool."
    assert reply.content == ""
    assert calls_of(reply) == [("calculator", {"expression": "25**0.43"})]


def test_reasoning_opened_by_the_prompt_ends_at_the_closing_tag() -> None:
    reply = parse_reply("Let me think.\n</think>\n\nIt is 4.", "deepseek", in_reasoning=True)

    assert (reply.reasoning, reply.content) == ("Let me think.", "It is 4.")


def test_reasoning_streams_before_the_call_is_complete() -> None:
    splitter = StreamSplitter("hermes")

    early = splitter.feed('<think>\nadding numbers\n</think>\n\n<tool_call>\n{"name"')

    assert [(p.kind, p.text) for p in early] == [("reasoning", "adding numbers")]


@pytest.mark.parametrize(("example_id", "fmt", "text"), EXAMPLES, ids=EXAMPLE_IDS)
@pytest.mark.parametrize("chunking", ["chars", "seed1", "seed2", "seed3"])
def test_streaming_matches_one_shot_parsing(
    example_id: str, fmt: str, text: str, chunking: str
) -> None:
    # Visible text around the calls must survive; text before bare-JSON or Python-list calls
    # would make them ordinary text, so those formats only get text after.
    leading_only = fmt in ("llama3_json", "pythonic")
    wrapped = ("" if leading_only else "Let me check.\n") + text + "\nDone."
    chunks = None if chunking == "chars" else random_chunks(wrapped, int(chunking[-1]))

    pieces = stream(wrapped, fmt, chunks)
    streamed = ParsedReply.from_pieces(pieces)
    whole = parse_reply(wrapped, fmt)

    assert streamed.content == whole.content
    assert whole.content == ("Done." if leading_only else "Let me check.\nDone.")
    assert streamed.reasoning == whole.reasoning
    assert calls_of(streamed) == calls_of(whole) != []
    assert [p.index for p in pieces if p.call] == list(range(len(whole.tool_calls)))
    for piece in pieces:
        if piece.kind == "text":
            assert not any(marker in piece.text for marker in MARKERS[fmt])


def test_text_that_may_begin_markup_is_held_back_until_known() -> None:
    splitter = StreamSplitter("hermes")

    assert [p.text for p in splitter.feed("Checking <tool_c")] == ["Checking"]
    assert [p.text for p in splitter.feed("alculator is")] == [" <tool_calculator is"]
    assert [p.text for p in splitter.feed(" a <")] == [" a"]
    pieces = splitter.feed('tool_call>{"name": "f", "arguments": {}}</tool_call>')
    assert [(p.kind, p.call["name"]) for p in pieces if p.call] == [("tool_call", "f")]
    assert splitter.finish() == []


def test_plain_text_streams_token_by_token() -> None:
    splitter = StreamSplitter("mistral")

    assert [p.text for p in splitter.feed("Hello")] == ["Hello"]
    assert [p.text for p in splitter.feed(" world")] == [" world"]
    assert [p.text for p in splitter.feed(" [")] == []  # "[" may begin [TOOL_CALLS]
    assert [p.text for p in splitter.feed("1]")] == [" [1]"]


@pytest.mark.parametrize(
    ("fmt", "text"),
    [
        ("llama3_json", '{"answer": 42, "unit": "none"}'),
        ("pythonic", "[1, 2, 3] are the first numbers."),
        ("pythonic", "[Note] nothing to call here."),
        ("llama3_json", 'The JSON is {"name": "x", "parameters": {}} as shown.'),
    ],
)
def test_json_or_lists_that_are_not_calls_stay_text(fmt: str, text: str) -> None:
    reply = parse_reply(text, fmt)

    assert reply.content == text
    assert reply.tool_calls == reply.invalid_tool_calls == []


@pytest.mark.parametrize(
    ("fmt", "text", "expected"),
    [
        ("mistral", '[TOOL_CALLS] [{"name": "f", "arguments": {"a": 1}}]', [("f", {"a": 1})]),
        (
            "mistral",
            '[TOOL_CALLS]f[ARGS]{"a": 1}[TOOL_CALLS]g[ARGS]{}',
            [("f", {"a": 1}), ("g", {})],
        ),
        ("mistral", '[TOOL_CALLS]f[CALL_ID]abc123XYZ[ARGS]{"a": 1}', [("f", {"a": 1})]),
        ("mistral", '[TOOL_CALLS]{"name": "f", "arguments": "{\\"a\\": 1}"}', [("f", {"a": 1})]),
        ("llama3_json", '<|python_tag|>{"name": "f", "parameters": {"a": 1}}', [("f", {"a": 1})]),
        (
            "llama3_json",
            '{"name": "f", "parameters": {"a": 1}}; {"name": "g", "parameters": {}}',
            [("f", {"a": 1}), ("g", {})],
        ),
        (
            "llama3_json",
            '<|python_tag|>brave_search.call(query="x")',
            [("brave_search", {"query": "x"})],
        ),
        (
            "granite",
            '<|tool_call|> {"name": "f", "arguments": {"a": 1}}\n<|tool_call|> '
            '{"name": "g", "arguments": {}}',
            [("f", {"a": 1}), ("g", {})],
        ),
        (
            "hermes",
            "<tool_call>\n<function=f>\n<parameter=a>\n[1, 2]\n</parameter>\n</function>"
            "\n</tool_call>",
            [("f", {"a": [1, 2]})],
        ),
        (
            "qwen3_xml",
            "<function=f>\n<parameter=a>\n42\n</parameter>\n</function>",
            [("f", {"a": "42"})],
        ),
        (
            "pythonic",
            "[f(a=[1, {'b': None}], c=True), g()]",
            [("f", {"a": [1, {"b": None}], "c": True}), ("g", {})],
        ),
        (
            "deepseek",
            '<｜tool▁call▁begin｜>f<｜tool▁sep｜>{"a": 1}<｜tool▁call▁end｜>',
            [("f", {"a": 1})],
        ),
    ],
)
def test_format_variants(fmt: str, text: str, expected: list) -> None:
    reply = parse_reply(text, fmt)

    assert calls_of(reply) == expected
    assert reply.invalid_tool_calls == []
    assert reply.content == ""


@pytest.mark.parametrize("fmt", FORMATS)
def test_written_calls_parse_back(fmt: str) -> None:
    calls = [
        {"name": "search", "args": {"query": 'say "hi"\nthen', "top_k": [1, {"x": None}]}},
        {"name": "now", "args": {}},
    ]

    parsed = parse_tool_calls(write_calls(calls, fmt), fmt)

    assert [(c["name"], c["args"]) for c in parsed] == [(c["name"], c["args"]) for c in calls]


def test_zephyr_example_is_plain_text() -> None:
    case = next(c for c in template_cases() if c["tool_call_format"] == "none")

    reply = parse_reply(case["example_assistant_output"], "none")

    assert reply.content == case["example_assistant_output"]
    assert reply.tool_calls == []


def test_unknown_format_names_the_valid_ones() -> None:
    with pytest.raises(UnknownFormatError, match="hermes"):
        parse_reply("hi", "json_please")


def test_a_finished_splitter_refuses_more_text() -> None:
    splitter = StreamSplitter("hermes")
    splitter.feed("done")
    splitter.finish()

    with pytest.raises(RuntimeError, match="new one"):
        splitter.feed("more")
