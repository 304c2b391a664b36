"""The supervisor's rule: arithmetic written out on numbers goes to math, the rest to research."""

from __future__ import annotations

import pytest

from threadloom.graphs.routing import route_question

MATH = [
    "compute 17*23",
    "What is 25^0.43?",
    "What's 12 times 7?",
    "17 x 23 = ?",
    "2**10",
    "What is 25 raised to the 0.43 power?",
    "the sum of 3 and 4",
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
