"""ReAct-JSON prompting for templates without tool support: prompt, parsing, history."""

from __future__ import annotations

import pytest
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage

from threadloom.models.react import REACT_STOP, parse_react, react_messages, react_system_prompt
from threadloom.models.tool_calls import ParsedReply, StreamSplitter

TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "calculator",
            "description": "Evaluate an arithmetic expression.",
            "parameters": {
                "type": "object",
                "properties": {"expression": {"type": "string"}},
                "required": ["expression"],
            },
        },
    }
]
CALL = {"name": "calculator", "args": {"expression": "2+2"}, "id": "call_abc"}
FENCED = (
    "Thought: I should compute it.\nAction:\n```json\n"
    '{"action": "calculator", "action_input": {"expression": "2+2"}}\n```'
)


def calls(reply: ParsedReply) -> list[tuple[str, dict]]:
    return [(c["name"], c["args"]) for c in reply.tool_calls]


def test_prompt_describes_tools_and_the_reply_format() -> None:
    prompt = react_system_prompt(TOOLS)

    for expected in (
        "calculator",
        "Evaluate an arithmetic expression.",
        "expression",
        "Thought:",
        "Action:",
        '"action_input"',
        "Observation:",
        "Final Answer:",
    ):
        assert expected in prompt
    assert REACT_STOP == ["Observation:"]


@pytest.mark.parametrize(
    "text",
    [
        FENCED,
        FENCED + "\nObservation: 5\nThought: invented\nFinal Answer: 5",
        'Thought: compute\nAction: {"action": "calculator", "action_input": {"expression": "2+2"}}',
        'Thought: compute\nAction: calculator\nAction Input: {"expression": "2+2"}',
        'Action:\n```\n{"action": "calculator", '
        '"action_input": "{\\"expression\\": \\"2+2\\"}"}\n```',
    ],
)
def test_an_action_is_a_tool_call(text: str) -> None:
    reply = parse_react(text)

    assert calls(reply) == [("calculator", {"expression": "2+2"})]
    assert reply.invalid_tool_calls == []
    assert reply.content == ""


def test_the_thought_is_reasoning_and_the_final_answer_is_content() -> None:
    reply = parse_react("Thought: 2+2 is 4.\nFinal Answer: It is 4.")

    assert (reply.reasoning, reply.content, reply.tool_calls) == ("2+2 is 4.", "It is 4.", [])


def test_a_final_answer_action_is_content() -> None:
    reply = parse_react('Action: {"action": "Final Answer", "action_input": "It is 4."}')

    assert (reply.content, reply.tool_calls) == ("It is 4.", [])


def test_plain_text_is_content() -> None:
    reply = parse_react("Paris is the capital of France.")

    assert (reply.content, reply.tool_calls, reply.invalid_tool_calls) == (
        "Paris is the capital of France.",
        [],
        [],
    )


@pytest.mark.parametrize(
    ("text", "error"),
    [
        (
            'Action:\n```json\n{"action": "calculator", "action_input": {"expression": "2+\n```',
            "not valid JSON",
        ),
        ('Action: {"tool": "calculator"}', '"action" and "action_input"'),
        ('Action: ["calculator"]', '"action" and "action_input"'),
        ('Action: {"action": "calculator", "action_input": "2+2"}', "not a JSON object"),
        ('Action: {"action": "calculator", "action_input": [1]}', "not a list"),
        ('Action: {"action": "", "action_input": {}}', 'no function "name"'),
        ("Thought: hmm\nAction:", "nothing followed Action:"),
        ("Action:\nObservation: 4", "nothing followed Action:"),
    ],
)
def test_malformed_actions_are_invalid_calls_with_a_reason(text: str, error: str) -> None:
    reply = parse_react(text)

    assert reply.tool_calls == []
    assert len(reply.invalid_tool_calls) == 1
    assert error in reply.invalid_tool_calls[0]["error"]
    assert "Action" not in reply.content


def test_streamed_react_agrees_with_one_shot_parsing() -> None:
    text = "Thought: compute first.\n" + FENCED.split("\n", 1)[1]
    splitter = StreamSplitter("react")
    pieces = [piece for ch in text for piece in splitter.feed(ch)] + splitter.finish()

    streamed = ParsedReply.from_pieces(pieces)

    assert calls(streamed) == calls(parse_react(text)) == [("calculator", {"expression": "2+2"})]
    assert streamed.reasoning == "compute first."
    assert [p.text for p in pieces if p.kind == "text"] == []


def test_history_becomes_plain_react_turns() -> None:
    second = {**CALL, "id": "call_def", "args": {"expression": "3*3"}}
    history = [
        SystemMessage("Be terse."),
        HumanMessage("What are 2+2 and 3*3?"),
        AIMessage(
            "", tool_calls=[CALL, second], additional_kwargs={"reasoning_content": "Two sums."}
        ),
        ToolMessage("4", tool_call_id="call_abc", name="calculator"),
        ToolMessage("9", tool_call_id="call_def", name="calculator"),
        AIMessage("4 and 9."),
    ]

    rewritten = react_messages(history, tools=TOOLS)

    assert [type(m) for m in rewritten] == [
        SystemMessage,
        HumanMessage,
        AIMessage,
        HumanMessage,
        AIMessage,
    ]
    assert rewritten[0].text.startswith("Be terse.\n\nYou can use the following tools")
    assert calls(parse_react(rewritten[2].text)) == [
        ("calculator", {"expression": "2+2"}),
        ("calculator", {"expression": "3*3"}),
    ]
    assert rewritten[2].text.startswith("Thought: Two sums.\nAction:")
    assert rewritten[3].text == "Observation: 4\nObservation: 9"
    assert parse_react(rewritten[4].text).content == "4 and 9."


def test_invalid_calls_in_history_keep_the_raw_action() -> None:
    bad = {
        "name": None,
        "args": '{"action": "calc',
        "id": "call_x",
        "error": "bad JSON",
        "type": "invalid_tool_call",
    }

    rewritten = react_messages([AIMessage("", invalid_tool_calls=[bad])])

    assert rewritten[0].text == 'Action:\n{"action": "calc'
    assert [m.type for m in react_messages([HumanMessage("hi")], tools=TOOLS)] == [
        "system",
        "human",
    ]
