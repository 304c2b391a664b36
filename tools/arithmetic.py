"""Safe arithmetic: walks the AST of an expression; never `eval`, every cost bounded.

Every operation whose cost grows with its arguments (powers, `round` digits, `factorial`) is
refused before it runs when that cost cannot stay small. Only the standard library: compute
workers (`tools.workers`) import this module and start in milliseconds.

Example:
    >>> evaluate("25^0.43")
    3.991298452658078
    >>> format_number(evaluate("17*23"))
    '391'
"""

from __future__ import annotations

import ast
import math
import operator
import time
from collections.abc import Callable
from typing import Any, ClassVar

MAX_LENGTH = 200
MAX_NODES = 150
MAX_DIGITS = 1000
MAX_FACTORIAL = 449  # the largest n whose factorial has at most MAX_DIGITS digits
TIME_LIMIT_S = 1.0
# Integral floats below this print as integers ("42"); larger ones keep scientific notation.
_INTEGRAL_FLOAT_LIMIT = 1e15
_INT_LIMIT = 10**MAX_DIGITS

Number = int | float

CONSTANTS: dict[str, float] = {"pi": math.pi, "e": math.e, "tau": math.tau}


def _factorial(n: Number) -> int:
    if isinstance(n, float):
        if not n.is_integer():
            raise CalculatorError(f"factorial needs a whole number, got {format_number(n)}.")
        n = int(n)
    if not 0 <= n <= MAX_FACTORIAL:
        raise CalculatorError(f"factorial needs a whole number from 0 to {MAX_FACTORIAL}.")
    return math.factorial(n)


def _round(number: Number, ndigits: Number | None = None) -> Number:
    # round(1, -10**7) computes 10**(10**7) inside one C call: refuse huge digit counts first.
    if isinstance(ndigits, int) and not isinstance(ndigits, bool) and abs(ndigits) > MAX_DIGITS:
        raise CalculatorError(f"round() takes from -{MAX_DIGITS} to {MAX_DIGITS} digits.")
    return round(number) if ndigits is None else round(number, ndigits)


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "abs": abs,
    "round": _round,
    "min": min,
    "max": max,
    "sqrt": math.sqrt,
    "exp": math.exp,
    "log": math.log,
    "log10": math.log10,
    "log2": math.log2,
    "sin": math.sin,
    "cos": math.cos,
    "tan": math.tan,
    "asin": math.asin,
    "acos": math.acos,
    "atan": math.atan,
    "sinh": math.sinh,
    "cosh": math.cosh,
    "tanh": math.tanh,
    "floor": math.floor,
    "ceil": math.ceil,
    "factorial": _factorial,
    "hypot": math.hypot,
    "degrees": math.degrees,
    "radians": math.radians,
}

ALLOWED = (
    "Allowed: numbers, + - * / // % ^ (power), parentheses, the constants "
    f"{', '.join(CONSTANTS)} and the functions {', '.join(sorted(FUNCTIONS))}."
)

# `^` reads as power to people and models; the typographic signs are common in copied text.
_REWRITES = {"^": "**", "×": "*", "÷": "/", "−": "-"}


class CalculatorError(ValueError):
    """The expression cannot be evaluated; the message says why and what is allowed."""


def evaluate(expression: str) -> Number:
    """Evaluate an arithmetic expression; ints stay ints, `/` gives a float.

    Raises:
        CalculatorError: for anything but numbers, operators and the allowed names, and for
            results that would be too large, undefined or too slow to compute.
    """
    text = checked_length(expression)
    for sign, replacement in _REWRITES.items():
        text = text.replace(sign, replacement)
    try:
        tree = ast.parse(text, mode="eval")
    except (SyntaxError, ValueError) as exc:  # ValueError: a NUL byte in the source
        raise CalculatorError(f"{expression!r} is not a valid expression. {ALLOWED}") from exc
    if sum(1 for _ in ast.walk(tree)) > MAX_NODES:
        raise CalculatorError("The expression is too complex; split it into smaller steps.")
    return _Evaluator(deadline=time.monotonic() + TIME_LIMIT_S).visit(tree.body)


def format_number(value: Number) -> str:
    """The text a model reads: "391", "42" for an integral float, else 10 significant digits."""
    if isinstance(value, float):
        if not math.isfinite(value):
            raise CalculatorError("The result is not a finite number.")
        if value.is_integer() and abs(value) < _INTEGRAL_FLOAT_LIMIT:
            return str(int(value))
        return format(value, ".10g")
    return str(value)


def answer(expression: str) -> str:
    """The text of the result of `expression`, computed here (see `calculator`)."""
    return format_number(evaluate(expression))


def checked_length(expression: str) -> str:
    """The expression stripped; refused when empty or longer than `MAX_LENGTH`."""
    text = expression.strip()
    if not text:
        raise CalculatorError(f"The expression is empty. {ALLOWED}")
    if len(text) > MAX_LENGTH:
        raise CalculatorError(
            f"The expression is {len(text)} characters long; the limit is {MAX_LENGTH}."
        )
    return text


class _Evaluator:
    """Evaluates the allowed node types; every other node is refused with its reason."""

    _BINARY: ClassVar[dict[type[ast.operator], Callable[[Any, Any], Any]]] = {
        ast.Add: operator.add,
        ast.Sub: operator.sub,
        ast.Mult: operator.mul,
        ast.Div: operator.truediv,
        ast.FloorDiv: operator.floordiv,
        ast.Mod: operator.mod,
        ast.Pow: operator.pow,
    }

    def __init__(self, deadline: float) -> None:
        self.deadline = deadline

    def visit(self, node: ast.expr) -> Number:
        if time.monotonic() > self.deadline:
            raise CalculatorError(f"The expression took longer than {TIME_LIMIT_S:g} s.")
        if isinstance(node, ast.Constant):
            return self._constant(node.value)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.UAdd | ast.USub):
            value = self.visit(node.operand)
            return -value if isinstance(node.op, ast.USub) else value
        if isinstance(node, ast.BinOp) and type(node.op) in self._BINARY:
            return self._binary(node)
        if isinstance(node, ast.Name):
            if node.id in CONSTANTS:
                return CONSTANTS[node.id]
            raise CalculatorError(f"Unknown name {node.id!r}. {ALLOWED}")
        if isinstance(node, ast.Call):
            return self._call(node)
        if isinstance(node, ast.Attribute):
            raise CalculatorError(f"Attributes such as {node.attr!r} are not allowed. {ALLOWED}")
        raise CalculatorError(f"{_describe(node)} is not allowed. {ALLOWED}")

    @staticmethod
    def _constant(value: object) -> Number:
        # bool is an int subclass; complex literals ("2j") are numbers but not ours.
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise CalculatorError(f"{value!r} is not a number. {ALLOWED}")
        return _checked(value)

    def _binary(self, node: ast.BinOp) -> Number:
        left, right = self.visit(node.left), self.visit(node.right)
        if isinstance(node.op, ast.Pow):
            _check_power(left, right)
        try:
            return _checked(self._BINARY[type(node.op)](left, right))
        except ZeroDivisionError as exc:
            raise CalculatorError("Division by zero is undefined.") from exc
        except OverflowError as exc:
            raise _too_large() from exc

    def _call(self, node: ast.Call) -> Number:
        name = node.func.id if isinstance(node.func, ast.Name) else None
        if name not in FUNCTIONS:
            shown = name or _describe(node.func)
            raise CalculatorError(f"Calling {shown!r} is not allowed. {ALLOWED}")
        if node.keywords:
            raise CalculatorError(f"{name}() takes positional arguments only.")
        args = [self.visit(arg) for arg in node.args]
        try:
            return _checked(FUNCTIONS[name](*args))
        except CalculatorError:
            raise
        except (TypeError, ValueError) as exc:
            raise CalculatorError(f"{name}() cannot take {_show_args(args)}: {exc}.") from exc
        except ZeroDivisionError as exc:
            raise CalculatorError(f"{name}() of {_show_args(args)} divides by zero.") from exc
        except OverflowError as exc:
            raise _too_large() from exc


def _check_power(base: Number, exponent: Number) -> None:
    """Refuses a power before computing it when its result would be huge or complex."""
    if isinstance(base, int) and isinstance(exponent, int):
        # The first test keeps a huge exponent from overflowing the float product.
        if (
            abs(base) > 1
            and exponent > 0
            and (exponent > 4 * MAX_DIGITS or exponent * math.log10(abs(base)) > MAX_DIGITS + 1)
        ):
            raise _too_large()
    elif base < 0 and not float(exponent).is_integer():
        raise CalculatorError("A negative number to a fractional power is not a real number.")


def _checked(value: Any) -> Number:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise CalculatorError(f"The result {value!r} is not a real number.")
    if isinstance(value, float) and not math.isfinite(value):
        raise _too_large()
    if isinstance(value, int) and abs(value) >= _INT_LIMIT:
        raise _too_large()
    return value


def _too_large() -> CalculatorError:
    return CalculatorError(
        f"The result is too large: the limit is {MAX_DIGITS} digits for whole numbers "
        "and about 1.8e308 for decimals."
    )


def _describe(node: ast.AST) -> str:
    name = {
        ast.Compare: "Comparison",
        ast.BoolOp: "and/or",
        ast.Subscript: "Indexing",
        ast.Lambda: "lambda",
    }.get(type(node))
    return name or f"The syntax {type(node).__name__}"


def _show_args(args: list[Number]) -> str:
    return "(" + ", ".join(format_number(a) if isinstance(a, float) else str(a) for a in args) + ")"
