"""Arithmetic questions as people type them, each with the expression the calculator should get.

Operators come as symbols ("17*23", "25 ^ 0.43") or words ("17 times 23", "25 to the power of
0.43"); the expression handed to the calculator is always the compact symbolic form.
"""

from __future__ import annotations

import random

QUESTION_FORMS = (
    "What is {e}?",
    "what is {e}",
    "What's {e}?",
    "Compute {e}.",
    "compute {e}",
    "Calculate {e}.",
    "calculate {e}",
    "How much is {e}?",
    "Evaluate {e}.",
    "Can you compute {e}?",
    "Please calculate {e}.",
    "{e} = ?",
    "{e}?",
    "{e}",
    "Work out {e}.",
    "What is the value of {e}?",
    "What does {e} equal?",
    "Could you tell me what {e} is?",
    "Solve {e}.",
)
# (operator, word forms); "{a}" and "{b}" are the operands.
_BINARY_WORDS = (
    ("+", ("{a} plus {b}", "the sum of {a} and {b}", "{a} added to {b}")),
    ("-", ("{a} minus {b}", "{a} take away {b}")),
    ("*", ("{a} times {b}", "{a} multiplied by {b}", "the product of {a} and {b}")),
    ("/", ("{a} divided by {b}", "{a} over {b}")),
    (
        "^",
        (
            "{a} to the power of {b}",
            "{a} raised to the power of {b}",
            "{a} raised to the {b} power",
            "{a} to the {b} power",
            "{a} raised to {b}",
        ),
    ),
    ("%", ("{a} modulo {b}", "{a} mod {b}")),
)
_FUNCTION_WORDS = (
    ("sqrt({a})", ("the square root of {a}", "square root of {a}", "sqrt({a})", "sqrt {a}")),
    ("{a}^2", ("{a} squared", "the square of {a}")),
    ("{a}^3", ("{a} cubed", "the cube of {a}")),
    ("factorial({a})", ("{a} factorial", "factorial of {a}", "factorial({a})")),
    ("log({a})", ("the natural log of {a}", "log({a})", "ln of {a}")),
    ("abs({a})", ("the absolute value of {a}", "abs({a})")),
)
_SYMBOL_SPELLINGS = {"*": ("*", "*", "x", "×"), "/": ("/", "/", "÷"), "^": ("^", "^", "**")}
_CHAIN_WORDS = (
    ("^", ("raised to the {b} power", "to the power of {b}", "raised to the power of {b}")),
    ("*", ("times {b}", "multiplied by {b}")),
    ("+", ("plus {b}",)),
    ("-", ("minus {b}",)),
    ("/", ("divided by {b}",)),
)


def number(rng: random.Random) -> str:
    """An operand: mostly whole numbers of one to four digits, some decimals, a few negatives."""
    kind = rng.random()
    if kind < 0.55:
        text = str(rng.randint(0, 10 ** rng.randint(1, 4) - 1))
    elif kind < 0.9:
        whole = rng.randint(0, 10 ** rng.randint(1, 3) - 1)
        text = f"{whole}.{rng.randint(0, 10 ** rng.randint(1, 3) - 1)}"
    else:
        text = str(rng.randint(1, 10 ** rng.randint(1, 6) - 1))
    return "-" + text if rng.random() < 0.05 else text


def exponent(rng: random.Random) -> str:
    """A power small enough to keep results short: 0.43, 2, 1.5, ..."""
    if rng.random() < 0.5:
        return f"0.{rng.randint(1, 99)}"
    return (
        str(rng.randint(2, 4)) if rng.random() < 0.7 else f"{rng.randint(1, 3)}.{rng.randint(1, 9)}"
    )


def arithmetic_question(rng: random.Random) -> tuple[str, str]:
    """A question and the compact expression the calculator should receive for it."""
    kind = rng.random()
    if kind < 0.4:
        shown, expression = _binary_symbols(rng)
    elif kind < 0.75:
        shown, expression = _binary_words(rng)
    elif kind < 0.88:
        shown, expression = _function_words(rng)
    else:
        shown, expression = _longer_symbols(rng)
    return rng.choice(QUESTION_FORMS).format(e=shown), expression


def chain_operation(rng: random.Random) -> tuple[str, str]:
    """Words for an operation on a number still to be looked up, and its expression pattern.

    The pattern has a `{n}` placeholder for the number: ("raised to the 0.43 power", "{n}^0.43").
    """
    if rng.random() < 0.15:
        return rng.choice((("squared", "{n}^2"), ("cubed", "{n}^3")))
    operator, forms = rng.choice(_CHAIN_WORDS)
    operand = exponent(rng) if operator == "^" else str(rng.randint(2, 99))
    return rng.choice(forms).format(b=operand), f"{{n}}{operator}{operand}"


def _operands(rng: random.Random, operator: str) -> tuple[str, str]:
    if operator == "^":
        return number(rng).lstrip("-"), exponent(rng)
    if operator == "%":
        return str(rng.randint(1, 9999)), str(rng.randint(2, 99))
    return number(rng), number(rng).lstrip("-")


def _binary_symbols(rng: random.Random) -> tuple[str, str]:
    operator = rng.choice("+-*/^")
    a, b = _operands(rng, operator)
    sign = rng.choice(_SYMBOL_SPELLINGS.get(operator, (operator,)))
    space = " " if rng.random() < 0.5 or sign == "x" else ""
    expression_sign = "*" if sign in {"x", "×"} else "/" if sign == "÷" else sign
    return f"{a}{space}{sign}{space}{b}", f"{a}{expression_sign}{b}"


def _binary_words(rng: random.Random) -> tuple[str, str]:
    operator, forms = rng.choice(_BINARY_WORDS)
    a, b = _operands(rng, operator)
    return rng.choice(forms).format(a=a, b=b), f"{a}{operator}{b}"


def _function_words(rng: random.Random) -> tuple[str, str]:
    expression, forms = rng.choice(_FUNCTION_WORDS)
    if expression.startswith("factorial"):
        a = str(rng.randint(0, 20))
    else:
        a = number(rng).lstrip("-") if "abs" not in expression else number(rng)
    if expression.startswith("log") and float(a) == 0:
        a = "1" + a
    return rng.choice(forms).format(a=a), expression.format(a=a)


def _longer_symbols(rng: random.Random) -> tuple[str, str]:
    a, b, c = (str(rng.randint(1, 999)) for _ in range(3))
    first, second = rng.choice("+-*/"), rng.choice("+-*")
    if rng.random() < 0.4:
        expression = f"({a}{first}{b}){second}{c}"
    else:
        expression = f"{a}{first}{b}{second}{c}"
    shown = expression
    if rng.random() < 0.5:
        for sign in "+-*/":
            shown = shown.replace(sign, f" {sign} ")
    return shown, expression
