"""Functions the worker-pool tests send to workers (stdlib only: workers import this module)."""

from __future__ import annotations


def stuck_in_c() -> int:
    # One C call that holds the interpreter for minutes: only killing its process stops it.
    return 10 ** (10**9) % 7


def allocate(megabytes: int) -> int:
    return len(bytearray(megabytes * 1024 * 1024))


def stuck_answer(expression: str) -> str:
    """Stands in for the calculator's `answer`: a call no pre-check caught, stuck in C."""
    return str(stuck_in_c()) + expression
