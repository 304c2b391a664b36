"""The calculator tool: safe arithmetic (`tools.arithmetic`) computed in a worker process.

The arithmetic refuses, before computing, whatever it cannot bound; as a second line, the tool
computes in `compute_pool`, with a hard deadline and a memory cap, so that a call that still got
stuck in one long C call is stopped without stalling the server.

Example:
    >>> calculator.invoke({"expression": "25^0.43"})
    '3.991298453'
"""

from __future__ import annotations

from langchain_core.tools import tool

from threadloom.tools.arithmetic import (
    CalculatorError,
    answer,
    checked_length,
    evaluate,
    format_number,
)
from threadloom.tools.workers import WorkerFailed, WorkerPool, WorkerTimeout

__all__ = ["CalculatorError", "answer", "calculator", "compute_pool", "evaluate", "format_number"]

# Where the calculator tool computes; the service sizes it from its settings and starts it.
compute_pool = WorkerPool(preload=["threadloom.tools.arithmetic"])


@tool("calculator")
def calculator(expression: str) -> str:
    """Evaluate an arithmetic expression, e.g. 25^0.43 or sqrt(2)*3."""
    # A megabyte expression is refused (or stripped) before it is sent anywhere.
    text = checked_length(expression)
    try:
        return compute_pool.run(answer, text)
    except (WorkerTimeout, WorkerFailed) as exc:
        raise CalculatorError(f"The expression could not be computed: {exc}.") from None
