"""A calculator answer stuck in one C call, for `bench.loop_pauses` (stdlib only: the compute
worker imports this module to run it)."""

from __future__ import annotations


def stuck_answer(expression: str) -> str:
    """Holds its worker for minutes in one C call: only killing the process stops it."""
    return str(10 ** (10**9) % 7) + expression
