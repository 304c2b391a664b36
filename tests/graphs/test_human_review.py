"""The approval interrupt in the shapes UIs render with buttons, and their answers read back as
the tool runner's decisions."""

from __future__ import annotations

from typing import Any

import pytest

from tests.graphs.ui_interrupt_schemas import is_agent_inbox_interrupt, is_hitl_request
from threadloom.graphs.human_review import InvalidReview, decision_of, review_request

CALC = {"name": "calculator", "args": {"expression": "17*23"}, "id": "c1"}
SEARCH = {"name": "search", "args": {"query": "Leo"}, "id": "s1"}


@pytest.mark.parametrize("waiting", [[CALC], [CALC, SEARCH]])
def test_the_question_passes_both_ui_schemas_and_keeps_tool_calls(
    waiting: list[dict[str, Any]],
) -> None:
    question = review_request(waiting)

    assert is_agent_inbox_interrupt(question) and is_agent_inbox_interrupt([question])
    assert is_hitl_request(question)
    assert question["tool_calls"] == waiting
    assert question["action_request"] == {"action": "calculator", "args": {"expression": "17*23"}}
    assert [r["name"] for r in question["action_requests"]] == [c["name"] for c in waiting]
    assert "calculator" in question["description"]


def test_the_old_question_fails_the_schemas() -> None:
    """The shape the issue found shown as a read-only table."""
    old = {"tool_calls": [CALC]}
    assert not is_agent_inbox_interrupt(old) and not is_hitl_request(old)


@pytest.mark.parametrize(
    ("answer", "decision"),
    [
        ([{"type": "accept", "args": None}], {"approved": True}),
        ([{"type": "ignore", "args": None}], {"approved": False, "reason": "ignored"}),
        ([{"type": "response", "args": "Not now."}], {"approved": False, "reason": "Not now."}),
        (
            [{"type": "edit", "args": {"action": "calculator", "args": {"expression": "1+1"}}}],
            [{**CALC, "args": {"expression": "1+1"}}, SEARCH],
        ),
        ({"decisions": [{"type": "approve"}]}, {"approved": True}),
        (
            {"decisions": [{"type": "reject", "message": "No."}]},
            {"approved": False, "reason": "No."},
        ),
        (
            {
                "decisions": [
                    {"type": "edit", "edited_action": {"name": "calculator", "args": {"e": 1}}},
                    {"type": "reject", "message": "No web."},
                ]
            },
            [{**CALC, "args": {"e": 1}}, {**SEARCH, "refused": "No web."}],
        ),
        ({"approved": True}, {"approved": True}),
        ([CALC], [CALC]),
    ],
)
def test_ui_answers_become_decisions(answer: Any, decision: Any) -> None:
    assert decision_of(answer, [CALC, SEARCH]) == decision


@pytest.mark.parametrize(
    "answer",
    [
        [{"type": "response", "args": {"text": "no"}}],
        [{"type": "edit", "args": "12*7"}],
        {"decisions": [{"type": "approve"}, {"type": "approve"}, {"type": "approve"}]},
        {"decisions": [{"type": "maybe"}]},
        {"decisions": [{"type": "edit"}]},
    ],
)
def test_unusable_ui_answers_are_refused(answer: Any) -> None:
    with pytest.raises(InvalidReview):
        decision_of(answer, [CALC, SEARCH])
