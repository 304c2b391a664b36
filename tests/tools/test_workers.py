"""The worker pool stops what runs too long or needs too much memory, and keeps serving."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Iterator

import pytest

from tests.tools.process_starts import record_process_starts
from tests.tools.worker_functions import allocate, stuck_in_c
from threadloom.tools.arithmetic import CalculatorError, answer
from threadloom.tools.workers import STARTER_THREAD, WorkerFailed, WorkerPool, WorkerTimeout


@pytest.fixture(scope="module")
def pool() -> Iterator[WorkerPool]:
    preload = ["threadloom.tools.arithmetic", "tests.tools.worker_functions"]
    started = WorkerPool(size=1, timeout_s=1.0, memory_mb=64, preload=preload)
    started.start()
    yield started
    started.close()


def test_answers_in_the_worker(pool: WorkerPool) -> None:
    assert pool.run(math.factorial, 20) == 2432902008176640000
    assert pool.run(answer, "17*23") == "391"


def test_the_function_s_exception_is_raised_in_the_caller(pool: WorkerPool) -> None:
    with pytest.raises(CalculatorError, match="Division by zero"):
        pool.run(answer, "1/0")


def test_a_stuck_call_is_killed_at_the_deadline_and_its_worker_replaced(
    pool: WorkerPool, monkeypatch: pytest.MonkeyPatch
) -> None:
    starters = record_process_starts(monkeypatch)
    with pytest.raises(WorkerTimeout, match="ran past 1 s"):
        pool.run(stuck_in_c)
    assert pool.run(math.factorial, 5) == 120
    # The replacement was started by the pool's thread, not by the caller.
    assert starters == [STARTER_THREAD]


async def test_an_event_loop_starting_the_pool_waits_for_no_process(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    starters = record_process_starts(monkeypatch)
    fresh = WorkerPool(size=2, timeout_s=5.0)
    fresh.start()  # on this test's event loop, as a server building its graphs does
    try:
        assert await asyncio.to_thread(fresh.run, math.factorial, 6) == 720
    finally:
        fresh.close()
    assert starters[:2] == [STARTER_THREAD, STARTER_THREAD]


def test_memory_over_the_cap_is_refused_and_the_worker_keeps_serving(pool: WorkerPool) -> None:
    with pytest.raises((MemoryError, WorkerFailed)):
        pool.run(allocate, 1024)
    assert pool.run(allocate, 8) == 8 * 1024 * 1024
