"""The supervisor's rule: arithmetic written out on numbers goes to math, the rest to research."""

from __future__ import annotations

import pytest

from threadloom.graphs.routing import route_question
from threadloom.models.tiny_model_kit.evaluate import build_cases

MATH = [
    "compute 17*23",
    "What is 25^0.43?",
    "What's 12 times 7?",
    "17 x 23 = ?",
    "2**10",
    "What is 25 raised to the 0.43 power?",
    "the sum of 3 and 4",
    "Work out the sum of -725857 and 1729.",
    "What is the square root of 16?",
    "5 squared",
    "Calculate 100 divided by 8.",
]
RESEARCH = [
    "Who is Leo DiCaprio's girlfriend?",
    "Who is Leo DiCaprio's girlfriend? What is her current age raised to the 0.43 power?",
    "How old is Barack Obama?",
    "Who was born in 1974?",
    "hi",
    "",
]


@pytest.mark.parametrize("question", MATH)
def test_arithmetic_goes_to_the_math_agent(question: str) -> None:
    assert route_question(question) == "math_agent"


@pytest.mark.parametrize("question", RESEARCH)
def test_everything_else_goes_to_the_research_agent(question: str) -> None:
    assert route_question(question) == "research_agent"


def test_the_bundled_models_held_out_questions_go_where_their_first_tool_is() -> None:
    """The rule agrees with the evaluation set of the bundled model: a question whose scripted
    answer starts with the calculator is math; one that starts with search, or needs no tool,
    is research."""
    cases = build_cases(arithmetic=300, small_talk=30, synthetic_people=30)

    misrouted = [
        case.question
        for case in cases
        if route_question(case.question)
        != ("math_agent" if case.calls and case.calls[0][0] == "calculator" else "research_agent")
    ]

    assert len(cases) > 400 and misrouted == []
