"""`route_question`: math or research, decided by the question's text, the same way every time.

The bundled model is tiny: it can drive one ReAct agent, not also decide reliably between two.
So the supervisor routes by rule: a question that writes out arithmetic on numbers ("compute
17*23", "12 times 7", "the square root of 16", "25 raised to the 0.43 power") goes to the math
agent; every other question goes to the research agent. A question that needs a lookup first
("her age raised to the 0.43 power") has no arithmetic on written numbers, so it is research.
"""

from __future__ import annotations

import re
from typing import Literal

Route = Literal["math_agent", "research_agent"]

_NUMBER = r"-?\d+(?:\.\d+)?"
_BETWEEN_NUMBERS = (
    r"\*\*|[-+*/^%x×÷]|plus|minus|times|multiplied by|divided by|over|modulo|mod|take away|"
    r"added to|(?:raised )?to the power of|raised to(?: the)?|to the"
)
_ARITHMETIC = re.compile(
    "|".join(
        (
            rf"{_NUMBER}\s*(?:{_BETWEEN_NUMBERS})\s*{_NUMBER}",
            rf"(?:sum|product) of {_NUMBER} and {_NUMBER}",
            rf"(?:square root|sqrt|factorial|log|ln|absolute value|abs|square|cube)\W+(?:of\s+)?"
            rf"{_NUMBER}",
            rf"{_NUMBER}\s+(?:squared|cubed|factorial)",
        )
    ),
    re.IGNORECASE,
)


def route_question(question: str) -> Route:
    """ "math_agent" when `question` writes out arithmetic on numbers, else "research_agent".

    Example:
        >>> route_question("compute 17*23"), route_question("Who is Leo DiCaprio's girlfriend?")
        ('math_agent', 'research_agent')
    """
    return "math_agent" if _ARITHMETIC.search(question) else "research_agent"
