"""Hostile calculator input: every expression of the corpus is refused or answered right, fast,
both by `evaluate` and through the tool (its worker process)."""

from __future__ import annotations

import time

import pytest

from tests.tools.hostile_expressions import HOSTILE
from threadloom.tools.calculator import CalculatorError, calculator, evaluate, format_number

# Generous: the slowest case takes well under a millisecond; this only catches a runaway.
SLOWEST_ALLOWED_S = 0.1


def _outcome(expression: str) -> tuple[object, float]:
    started = time.perf_counter()
    try:
        result: object = evaluate(expression)
    except CalculatorError as exc:
        result = exc
    return result, time.perf_counter() - started


@pytest.mark.parametrize(("expression", "expected"), HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_expression_is_refused_or_answered_right(
    expression: str, expected: float | None
) -> None:
    result, elapsed = _outcome(expression)
    if expected is None:
        assert isinstance(result, CalculatorError), f"{expression[:80]!r} gave {result!r}"
    else:
        assert not isinstance(result, CalculatorError), f"{expression[:80]!r}: {result}"
        assert result == pytest.approx(expected, rel=1e-12)
    assert elapsed < SLOWEST_ALLOWED_S, f"{expression[:80]!r} took {elapsed:.3f} s"


def test_the_tool_gives_the_same_answers_from_its_worker() -> None:
    for expression, expected in HOSTILE:
        if expected is None:
            with pytest.raises(CalculatorError):
                calculator.invoke({"expression": expression})
        else:
            assert calculator.invoke({"expression": expression}) == format_number(expected)
