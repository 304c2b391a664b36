"""The worker pool stops what runs too long or needs too much memory, and keeps serving."""

from __future__ import annotations

import math
import time
from collections.abc import Iterator

import pytest

from tests.tools.worker_functions import allocate, stuck_in_c
from threadloom.tools.arithmetic import CalculatorError, answer
from threadloom.tools.workers import WorkerFailed, WorkerPool, WorkerTimeout


@pytest.fixture(scope="module")
def pool() -> Iterator[WorkerPool]:
    preload = ["threadloom.tools.arithmetic", "tests.tools.worker_functions"]
    workers = WorkerPool(size=1, timeout_s=1.0, memory_mb=64, preload=preload)
    workers.start()
    yield workers
    workers.close()


def test_answers_in_the_worker(pool: WorkerPool) -> None:
    assert pool.run(math.factorial, 20) == 2432902008176640000
    assert pool.run(answer, "17*23") == "391"


def test_the_function_s_exception_is_raised_in_the_caller(pool: WorkerPool) -> None:
    with pytest.raises(CalculatorError, match="Division by zero"):
        pool.run(answer, "1/0")


def test_a_stuck_call_is_killed_at_the_deadline_and_its_worker_replaced(pool: WorkerPool) -> None:
    started = time.monotonic()
    with pytest.raises(WorkerTimeout, match="ran past 1 s"):
        pool.run(stuck_in_c)
    assert time.monotonic() - started < 10
    assert pool.run(math.factorial, 5) == 120


def test_memory_over_the_cap_is_refused_and_the_worker_keeps_serving(pool: WorkerPool) -> None:
    with pytest.raises((MemoryError, WorkerFailed)):
        pool.run(allocate, 1024)
    assert pool.run(allocate, 8) == 8 * 1024 * 1024
