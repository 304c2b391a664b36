"""What a run writes besides its checkpoints: one transaction admits it, one settles it.

Counted on the SQLite connection the service and its checkpointer share, from the statements
SQLite traces: a transaction is what runs between `BEGIN` and `COMMIT`; a statement outside one
is a transaction of its own.
"""

from __future__ import annotations

import re

import httpx

from tests.service.live_server import StartServer

OUR_TABLES = re.compile(r"\b(threads|runs|run_events|thread_ttls|assistants)\b")


def transactions(statements: list[str]) -> list[list[str]]:
    """The statements grouped by transaction, in order."""
    grouped: list[list[str]] = []
    current: list[str] | None = None
    for statement in statements:
        if statement.startswith("BEGIN"):
            current = []
        elif statement in ("COMMIT", "ROLLBACK"):
            grouped.append(current or [])
            current = None
        elif current is not None:
            current.append(statement)
        else:
            grouped.append([statement])
    return grouped


async def test_a_run_is_admitted_and_settled_in_one_transaction_each(start: StartServer) -> None:
    server = await start(lease_ttl_s=3600)  # no lease renewal during the test
    connection = server.app.state.services.checkpointer.conn
    traced: list[str] = []
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
        thread_id = (await client.post("/threads", json={})).json()["thread_id"]
        connection.set_trace_callback(traced.append)
        try:
            body = {
                "assistant_id": "agent",
                "input": {"messages": [{"role": "user", "content": "what is 6 * 7?"}]},
            }
            response = await client.post(f"/threads/{thread_id}/runs/wait", json=body)
        finally:
            connection.set_trace_callback(None)

    assert response.status_code == 200
    ours = [tx for tx in transactions(traced) if any(OUR_TABLES.search(s) for s in tx)]
    admitting = [tx for tx in ours if any(s.startswith("INSERT INTO runs") for s in tx)]
    settling = [tx for tx in ours if any("log_closed" in s for s in tx)]
    # Anything else only stores a batch of events (a run longer than the batch window).
    rest = [
        tx
        for tx in ours
        if tx not in admitting + settling
        and not all(s.startswith(("INSERT INTO run_events", "SELECT 1 AS found")) for s in tx)
    ]
    assert len(admitting) == 1 and len(settling) == 1 and rest == []
    admission, settlement = admitting[0], settling[0]
    # The assistant read and the thread locked and marked busy within the admission; the
    # run written as running (its turn has come), its first event with it.
    assert any(s.startswith("SELECT assistant_id") for s in admission)
    assert any("status = 'busy'" in s for s in admission)
    assert any("'running'" in s for s in admission if s.startswith("INSERT INTO runs"))
    assert any(s.startswith("INSERT INTO run_events") for s in admission)
    # The run's status, the thread's record and the end of the event log, together.
    assert any(s.startswith("UPDATE runs SET status") for s in settlement)
    assert any(s.startswith("UPDATE threads SET status") for s in settlement)
    # No run waited for a turn: nothing claimed one.
    assert not any("SET status = 'running'" in s for tx in ours for s in tx)
