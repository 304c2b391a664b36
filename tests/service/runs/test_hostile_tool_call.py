"""A hostile calculator call written into a thread's state and resumed (as the issue's probe
did) cannot stall the server: `/ok` keeps answering while it runs, and the call is refused
(pre-checks) or stopped at the deadline (the worker is killed, and replaced by the pool's own
thread, never on the event loop). How long `/ok` takes meanwhile is measured in
`bench.loop_pauses`, not bounded here: a bound on time flakes on a busy machine."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from tests.service.live_server import StartServer
from tests.tools.process_starts import record_process_starts
from tests.tools.worker_functions import stuck_answer
from threadloom.tools import calculator as calculator_module
from threadloom.tools.workers import STARTER_THREAD

STUCK_S = 2.0


async def _thread_with_tool_call(client: httpx.AsyncClient, expression: str) -> str:
    thread_id = (await client.post("/threads", json={"metadata": {"graph_id": "agent"}})).json()[
        "thread_id"
    ]
    call = {"name": "calculator", "args": {"expression": expression}, "id": "hostile-1"}
    values = {
        "messages": [
            {"type": "human", "content": "compute it"},
            {"type": "ai", "content": "", "tool_calls": [call]},
        ]
    }
    written = await client.post(
        f"/threads/{thread_id}/state", json={"values": values, "as_node": "agent"}
    )
    assert written.status_code == 200, written.text
    return thread_id


async def _resume_while_probing_ok(
    client: httpx.AsyncClient, thread_id: str
) -> tuple[dict[str, Any], int]:
    """The resumed run's result, and how many times `/ok` answered 200 while it ran."""
    resumed = asyncio.create_task(
        client.post(f"/threads/{thread_id}/runs/wait", json={"assistant_id": "agent"})
    )
    probes = 0
    while not resumed.done() or not probes:
        assert (await client.get("/ok")).status_code == 200
        probes += 1
    return (await resumed).json(), probes


def _tool_answer(result: dict[str, Any]) -> str:
    (answer,) = [m for m in result["messages"] if m["type"] == "tool"]
    assert answer["tool_call_id"] == "hostile-1"
    return answer["content"]


@pytest.mark.parametrize("expression", ["round(1, -3*10**7)", "9**9**9", "factorial(10**6)"])
async def test_a_hostile_call_in_the_state_is_refused_and_ok_stays_fast(
    client: httpx.AsyncClient, expression: str
) -> None:
    thread_id = await _thread_with_tool_call(client, expression)

    result, _ = await _resume_while_probing_ok(client, thread_id)

    assert _tool_answer(result).startswith("Error: Tool 'calculator' failed: CalculatorError")


async def test_a_call_stuck_in_c_is_killed_at_the_deadline_and_replaced_off_the_loop(
    start: StartServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Stands in for a hostile expression no pre-check caught: the worker is stuck in one C call.
    monkeypatch.setattr(calculator_module, "answer", stuck_answer)
    server = await start(compute_timeout_s=STUCK_S)
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
        thread_id = await _thread_with_tool_call(client, "1 + 1")
        starters = record_process_starts(monkeypatch)

        result, probes = await _resume_while_probing_ok(client, thread_id)
        # The killed worker was replaced: the next call is answered.
        monkeypatch.undo()
        again = await _thread_with_tool_call(client, "6 * 7")
        answered = await client.post(f"/threads/{again}/runs/wait", json={"assistant_id": "agent"})

    assert f"ran past {STUCK_S:g} s and was stopped" in _tool_answer(result)
    assert probes > 1  # /ok answered while the call was stuck
    assert starters == [STARTER_THREAD]  # the killed worker's replacement, off the loop
    assert _tool_answer(answered.json()) == "42"
