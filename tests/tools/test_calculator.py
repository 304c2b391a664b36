"""The calculator: right answers, the exact text a model reads, and refusals with reasons."""

from __future__ import annotations

import importlib
import math

import pytest

from threadloom.tools.calculator import CalculatorError, calculator, evaluate, format_number


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("17*23", 391),
        ("2 + 3 * 4", 14),
        ("(2 + 3) * 4", 20),
        ("-2**2", -4),
        ("(-2)^2", 4),
        ("2^3^2", 512),
        ("--5", 5),
        ("+7 - -3", 10),
        ("7 // 2", 3),
        ("-7 // 2", -4),
        ("7 % 3", 1),
        ("2**-2", 0.25),
        ("7 / 2", 3.5),
        ("3 × 4 ÷ 2", 6.0),
        ("factorial(5)", 120),
        ("abs(-3)", 3),
        ("max(1, 9, 4)", 9),
        ("min(2, -1)", -1),
        ("round(2.567, 2)", 2.57),
        ("floor(2.7) + ceil(2.1)", 5),
    ],
)
def test_evaluates_arithmetic(expression: str, expected: float) -> None:
    result = evaluate(expression)
    assert result == expected
    assert type(result) is type(expected)


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("25^0.43", 25**0.43),
        ("28**0.43", 28**0.43),
        ("sqrt(2) * 3", math.sqrt(2) * 3),
        ("log(100)", math.log(100)),
        ("log(8, 2)", 3.0),
        ("log10(1000)", 3.0),
        ("log2(1024)", 10.0),
        ("exp(1)", math.e),
        ("sin(pi / 2)", 1.0),
        ("degrees(pi)", 180.0),
        ("hypot(3, 4)", 5.0),
        ("tau / 2", math.pi),
    ],
)
def test_evaluates_functions_and_constants(expression: str, expected: float) -> None:
    assert evaluate(expression) == pytest.approx(expected, rel=1e-12)


def test_whole_numbers_stay_exact() -> None:
    assert evaluate("2**100") == 1267650600228229401496703205376
    assert evaluate("10**999") == 10**999


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (391, "391"),
        (-4, "-4"),
        (42.0, "42"),
        (-0.0, "0"),
        (3.5, "3.5"),
        (0.25, "0.25"),
        (25**0.43, format(25**0.43, ".10g")),
        (1 / 3, "0.3333333333"),
        (1e15, "1e+15"),
        (1.5e-7, "1.5e-07"),
        (2**100, "1267650600228229401496703205376"),
    ],
)
def test_format_number(value: float, text: str) -> None:
    assert format_number(value) == text


@pytest.mark.parametrize("value", [math.inf, -math.inf, math.nan])
def test_format_number_refuses_non_finite(value: float) -> None:
    with pytest.raises(CalculatorError, match="finite"):
        format_number(value)


def test_tool_returns_the_formatted_result() -> None:
    assert calculator.name == "calculator"
    assert list(calculator.args) == ["expression"]
    assert calculator.invoke({"expression": "25^0.43"}) == "3.991298453"
    assert calculator.invoke({"expression": "28^0.43"}) == "4.190616836"
    assert calculator.invoke({"expression": "17*23"}) == "391"
    assert calculator.invoke({"expression": "6 / 3"}) == "2"


@pytest.mark.parametrize(
    ("expression", "reason"),
    [
        ("__import__('os')", "Calling '__import__' is not allowed"),
        ("open('/etc/passwd')", "Calling 'open' is not allowed"),
        ("eval('1')", "Calling 'eval' is not allowed"),
        ("exec('x=1')", "Calling 'exec' is not allowed"),
        ("x", "Unknown name 'x'"),
        ("x + 1", "Unknown name 'x'"),
        ("(1).__class__", "Attributes such as '__class__' are not allowed"),
        ("math.sqrt(4)", "is not allowed"),
        ("sqrt(x=4)", "positional arguments only"),
        ("'abc'", "is not a number"),
        ("True + 1", "is not a number"),
        ("2j", "is not a number"),
        ("1 < 2", "Comparison is not allowed"),
        ("[1, 2]", "is not allowed"),
        ("1 if 2 else 3", "is not allowed"),
        ("lambda: 1", "lambda is not allowed"),
        ("1 << 2", "is not allowed"),
        ("two plus two", "not a valid expression"),
    ],
)
def test_refuses_what_is_not_arithmetic(expression: str, reason: str) -> None:
    with pytest.raises(CalculatorError, match=reason) as caught:
        evaluate(expression)
    assert "Allowed:" in str(caught.value) or "positional" in str(caught.value)


@pytest.mark.parametrize(
    ("expression", "reason"),
    [
        ("9**9**9", "too large"),
        ("10**100000", "too large"),
        ("10^1000", "too large"),
        ("2**(10**1000)", "too large"),
        ("10**999 * 10", "too large"),
        ("1e308 * 10", "too large"),
        ("1e999", "too large"),
        ("exp(1000)", "too large"),
        ("1.5 * 10**999", "too large"),
        ("factorial(100000)", "factorial needs a whole number from 0 to 449"),
        ("factorial(2.5)", "factorial needs a whole number"),
        ("1 / 0", "Division by zero"),
        ("5 // 0", "Division by zero"),
        ("5 % 0", "Division by zero"),
        ("0 ** -1", "Division by zero"),
        ("(-8) ** (1/3)", "not a real number"),
        ("sqrt(-1)", r"sqrt\(\) cannot take \(-1\)"),
        ("log(0)", r"log\(\) cannot take"),
        ("min()", r"min\(\) cannot take"),
        ("sqrt(1, 2)", r"sqrt\(\) cannot take"),
    ],
)
def test_refuses_undefined_or_huge_results(expression: str, reason: str) -> None:
    with pytest.raises(CalculatorError, match=reason):
        evaluate(expression)


@pytest.mark.parametrize(
    ("expression", "reason"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("1" * 201, "201 characters long; the limit is 200"),
        ("-" * 180 + "1", "too complex"),
        ("(1 + 2", "not a valid expression"),
        ("1 +", "not a valid expression"),
        ("2 ** ** 3", "not a valid expression"),
        ("1\x002", "not a valid expression"),
    ],
)
def test_refuses_malformed_input(expression: str, reason: str) -> None:
    with pytest.raises(CalculatorError, match=reason):
        evaluate(expression)


def test_time_limit_stops_evaluation(monkeypatch: pytest.MonkeyPatch) -> None:
    # `threadloom.tools.calculator` the attribute is the tool; the module comes from the importer.
    module = importlib.import_module("threadloom.tools.arithmetic")
    monkeypatch.setattr(module, "TIME_LIMIT_S", -1.0)
    with pytest.raises(CalculatorError, match="took longer than"):
        evaluate("1 + 1")


def test_tool_reports_a_refusal_as_a_readable_error() -> None:
    with pytest.raises(CalculatorError, match=r"Unknown name 'x'\. Allowed: numbers"):
        calculator.invoke({"expression": "x ^ 2"})
