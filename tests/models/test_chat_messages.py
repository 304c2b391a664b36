"""Conversations through every fixture chat template: render, then read the calls back."""

from __future__ import annotations

from typing import Any

import pytest
from chat_template_cases import template_cases, template_text
from langchain_core.messages import (
    AIMessage,
    BaseMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)
from transformers.utils.chat_template_utils import render_jinja_template

from threadloom.models.chat_messages import TemplateTraits, to_template_messages, traits_for
from threadloom.models.react import parse_react, react_messages
from threadloom.models.tool_calls import parse_tool_calls

CASES = template_cases()
CASE_IDS = [case["file"] for case in CASES]
TOOLS = [
    {
        "type": "function",
        "function": {
            "name": name,
            "description": description,
            "parameters": {
                "type": "object",
                "properties": {param: {"type": "string"}},
                "required": [param],
            },
        },
    }
    for name, param, description in [
        ("calculator", "expression", "Evaluate an arithmetic expression."),
        ("search", "query", "Search the web."),
    ]
]
CALC = {"name": "calculator", "args": {"expression": "25**0.43"}, "id": "call_0a1b2c3d4e5f"}
SEARCH = {"name": "search", "args": {"query": "vittoria ceretti age"}, "id": "call_9f8e7d6c5b4a"}


def render(case: dict[str, Any], messages: list[dict[str, Any]], *, generation: bool) -> str:
    tokens = case["tokens"]
    rendered, _ = render_jinja_template(
        conversations=[messages],
        chat_template=template_text(case),
        tools=TOOLS if case["supports_tools"] else None,
        add_generation_prompt=generation,
        bos_token=tokens.get("bos_token", ""),
        eos_token=tokens.get("eos_token", ""),
    )
    return rendered[0]


def template_messages(case: dict[str, Any], messages: list[BaseMessage]) -> list[dict[str, Any]]:
    """What the model layer does: tool formats directly, ReAct for templates without tools."""
    text = template_text(case)
    fmt = case["tool_call_format"]
    if fmt == "none":
        return to_template_messages(react_messages(messages, tools=TOOLS), fmt, traits_for(text))
    return to_template_messages(messages, fmt, traits_for(text))


def calls_for(case: dict[str, Any]) -> list[dict[str, Any]]:
    return [CALC, SEARCH] if case["parallel_tool_calls"] or not case["supports_tools"] else [CALC]


def tool_results(calls: list[dict[str, Any]]) -> list[ToolMessage]:
    results = {"calculator": "3.9919", "search": "Vittoria Ceretti is 31 years old."}
    return [ToolMessage(results[c["name"]], tool_call_id=c["id"], name=c["name"]) for c in calls]


def first_turn(case: dict[str, Any]) -> list[BaseMessage]:
    calls = calls_for(case)
    return [
        SystemMessage("You are a terse assistant."),
        HumanMessage("What is twenty-five to the power 0.43, and how old is Vittoria Ceretti?"),
        AIMessage("", tool_calls=calls),
    ]


def assistant_turn(case: dict[str, Any], history: list[BaseMessage]) -> str:
    """The text the template renders for the last (assistant) message of ``history``."""
    before = render(case, template_messages(case, history[:-1]), generation=True)
    full = render(case, template_messages(case, history), generation=False)
    shared = 0
    while shared < min(len(before), len(full)) and before[shared] == full[shared]:
        shared += 1
    return full[shared:]


EXPECTED_TRAITS = {
    "qwen2_5_instruct.jinja": TemplateTraits(),
    "qwen3.jinja": TemplateTraits(),
    "llama3_3_instruct.jinja": TemplateTraits(),
    "llama3_2_pythonic.jinja": TemplateTraits(calls_in_content=True),
    "gemma3_pythonic.jinja": TemplateTraits(strict_alternation=True),
    "mistral_nemo_instruct_2407.jinja": TemplateTraits(strict_alternation=True, call_id_length=9),
    "granite.jinja": TemplateTraits(),
    "phi4_mini.jinja": TemplateTraits(arguments_as_json=True, calls_in_content=True),
    "qwen3_coder.jinja": TemplateTraits(),
    "deepseek_v3.jinja": TemplateTraits(),
    "deepseek_v3_1.jinja": TemplateTraits(arguments_as_json=True),
    "zephyr_7b_beta.jinja": TemplateTraits(),
}


def test_every_fixture_has_expected_traits() -> None:
    assert set(EXPECTED_TRAITS) == set(CASE_IDS)


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_traits_are_read_from_the_template(case: dict[str, Any]) -> None:
    assert traits_for(template_text(case)) == EXPECTED_TRAITS[case["file"]]


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_round_trip_through_the_template(case: dict[str, Any]) -> None:
    calls = calls_for(case)
    history = [
        *first_turn(case),
        *tool_results(calls),
        AIMessage("25**0.43 is about 3.99, and she is 31."),
        HumanMessage("Thanks. Now what is two to the tenth?"),
    ]

    prompt = render(case, template_messages(case, history), generation=True)

    for expected in ("25**0.43", "3.9919", "about 3.99", "two to the tenth"):
        assert expected in prompt
    if len(calls) > 1:
        assert "vittoria ceretti age" in prompt
        assert "31 years old" in prompt
    turn = assistant_turn(case, first_turn(case))
    if case["supports_tools"]:
        parsed = parse_tool_calls(turn, case["tool_call_format"])
    else:
        parsed = parse_react(turn).tool_calls
    assert [(c["name"], c["args"]) for c in parsed] == [(c["name"], c["args"]) for c in calls]


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_a_user_turn_right_after_tool_results_renders(case: dict[str, Any]) -> None:
    # The fixtures record Gemma 3 and Mistral raising on exactly this conversation.
    calls = calls_for(case)
    history = [*first_turn(case), *tool_results(calls), HumanMessage("And in words?")]

    prompt = render(case, template_messages(case, history), generation=True)

    assert "3.9919" in prompt
    assert "And in words?" in prompt


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_invalid_calls_in_history_show_what_the_model_wrote(case: dict[str, Any]) -> None:
    bad = {
        "name": "calculator",
        "args": '{"expression": "2+',
        "id": "call_badbadbad1",
        "error": "the call was cut off before its JSON ended",
        "type": "invalid_tool_call",
    }
    history = [
        HumanMessage("What is 2+2?"),
        AIMessage("Computing.", invalid_tool_calls=[bad]),
        ToolMessage(
            "Error: Invalid tool call: the call was cut off. Try again.",
            tool_call_id=bad["id"],
            name="calculator",
            status="error",
        ),
        AIMessage("It is 4."),
        HumanMessage("Thanks."),
    ]

    prompt = render(case, template_messages(case, history), generation=True)

    assert '{"expression": "2+' in prompt
    assert "Computing." in prompt
    if case["supports_tools"]:
        assert "Invalid tool call" in prompt


def test_mistral_ids_become_nine_characters_and_stay_paired() -> None:
    messages = to_template_messages(
        [HumanMessage("q"), AIMessage("", tool_calls=[CALC]), *tool_results([CALC])],
        "mistral",
        TemplateTraits(call_id_length=9),
    )

    call_id = messages[1]["tool_calls"][0]["id"]
    assert len(call_id) == 9 and call_id.isalnum()
    assert messages[2]["tool_call_id"] == call_id


def test_assistant_messages_have_string_content_and_typed_calls() -> None:
    messages = to_template_messages(
        [HumanMessage("q"), AIMessage("", tool_calls=[CALC])], "hermes", TemplateTraits()
    )

    assert messages[1] == {
        "role": "assistant",
        "content": "",
        "tool_calls": [
            {
                "type": "function",
                "id": CALC["id"],
                "function": {"name": "calculator", "arguments": {"expression": "25**0.43"}},
            }
        ],
    }


def test_json_string_arguments_where_the_template_concatenates_them() -> None:
    messages = to_template_messages(
        [AIMessage("", tool_calls=[CALC])], "deepseek", TemplateTraits(arguments_as_json=True)
    )

    assert messages[0]["tool_calls"][0]["function"]["arguments"] == '{"expression": "25**0.43"}'


def test_strict_alternation_merges_adjacent_turns_and_fills_gaps() -> None:
    messages = to_template_messages(
        [
            AIMessage("Hello, how can I help?"),
            HumanMessage("first"),
            HumanMessage("second"),
            AIMessage("", tool_calls=[CALC]),
            *tool_results([CALC]),
            HumanMessage("third"),
        ],
        "mistral",
        TemplateTraits(strict_alternation=True),
    )

    assert [(m["role"], m["content"]) for m in messages] == [
        ("user", ""),
        ("assistant", "Hello, how can I help?"),
        ("user", "first\n\nsecond"),
        ("assistant", ""),
        ("tool", "3.9919"),
        ("assistant", ""),
        ("user", "third"),
    ]


def test_without_a_system_role_the_system_text_leads_the_first_user_turn() -> None:
    messages = to_template_messages(
        [SystemMessage("Be brief."), HumanMessage("Hi")], "none", TemplateTraits(system_role=False)
    )

    assert messages == [{"role": "user", "content": "Be brief.\n\nHi"}]


def test_system_messages_are_joined_at_the_front() -> None:
    messages = to_template_messages(
        [SystemMessage("A."), HumanMessage("Hi"), SystemMessage("B.")], "hermes"
    )

    assert messages == [
        {"role": "system", "content": "A.\n\nB."},
        {"role": "user", "content": "Hi"},
    ]


def test_reasoning_is_passed_to_templates_that_render_it() -> None:
    message = AIMessage("4", additional_kwargs={"reasoning_content": "2+2 is 4"})

    converted = to_template_messages([HumanMessage("2+2?"), message], "hermes")

    assert converted[1]["reasoning_content"] == "2+2 is 4"


def test_calls_in_content_are_written_in_the_format_the_model_uses() -> None:
    messages = to_template_messages(
        [AIMessage("", tool_calls=[CALC])], "phi4", TemplateTraits(calls_in_content=True)
    )

    assert messages == [
        {
            "role": "assistant",
            "content": 'functools[{"name": "calculator", "arguments": {"expression": "25**0.43"}}]',
        }
    ]
