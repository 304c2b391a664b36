"""The run queue and the stored event logs between two replicas, on SQLite and PostgreSQL.

Each test opens the database twice, as two replicas would (on SQLite they learn of each other's
changes by polling; on PostgreSQL by NOTIFY).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.service.storage.test_storage import new_thread, run_record
from threadloom.service.errors import ServiceUnavailable
from threadloom.service.runs.events import EventLogs
from threadloom.service.runs.queue import RunQueue
from threadloom.service.settings import Settings
from threadloom.service.storage.backends import Storage, open_storage
from threadloom.service.storage.records import RunEvent

DEADLINE_S = 10  # a bound on waiting, so a bug fails the test instead of hanging it


@pytest.fixture
async def replicas(storage_settings: dict[str, Any]) -> AsyncIterator[list[Storage]]:
    def settings(replica: str) -> Settings:
        return Settings(**storage_settings, replica_id=replica, poll_interval_s=0.1)

    async with open_storage(settings("a")) as a, open_storage(settings("b")) as b:
        yield [a, b]


async def test_a_stored_log_follows_another_replica_live_log_to_its_end(
    replicas: list[Storage],
) -> None:
    a, b = replicas
    run = run_record(await new_thread(a))
    await a.runs.create(run)
    writer, reader = EventLogs(a.events, a.wakeups), EventLogs(b.events, b.wakeups)
    events = [RunEvent(f"e{n}", b"[%d]" % n) for n in range(3)]
    live = writer.create(run.run_id)
    live.append(events[0])
    followed: list[tuple[int, RunEvent]] = []

    async def follow() -> None:
        async for item in reader.stored(run.run_id).follow(0):
            followed.append(item)

    following = asyncio.create_task(follow())
    for event in events[1:]:
        live.append(event)
    live.close()
    async with asyncio.timeout(DEADLINE_S):
        await following
    await writer.aclose(DEADLINE_S)

    stored = reader.stored(run.run_id)
    assert followed == list(enumerate(events))
    assert [index async for index, _ in stored.follow(1)] == [1, 2]  # a replay
    assert [item async for item in stored.follow(None)] == []  # from now on: it has ended


async def test_a_run_settles_its_log_after_the_writer_detached(replicas: list[Storage]) -> None:
    storage = replicas[0]
    run = run_record(await new_thread(storage))
    await storage.runs.create(run)
    logs = EventLogs(storage.events, storage.wakeups)
    events = [RunEvent(f"e{n}", b"[%d]" % n) for n in range(3)]
    live = logs.create(run.run_id)
    live.append(events[0])
    # Settling takes over: the writer stops, and the rest goes in the settling transaction.
    stored = await logs.detach(run.run_id, live)
    live.append(events[1])
    live.append(events[2])
    async with storage.database.transaction() as tx:
        await logs.end_in(tx, run.run_id, live, stored)
    live.close()
    await logs.aclose(DEADLINE_S)

    replayed = [item async for item in logs.stored(run.run_id).follow(0)]
    assert replayed == list(enumerate(events))  # each once, in order, and the log complete


async def test_detaching_the_writer_of_a_deleted_run_leaves_nothing_to_store(
    replicas: list[Storage],
) -> None:
    storage = replicas[0]
    logs = EventLogs(storage.events, storage.wakeups)
    live = logs.create("a-run-deleted-meanwhile")
    live.append(RunEvent("values", b"{}"))
    live.close()
    await logs.aclose(DEADLINE_S)  # the writer found no run to store the events of, and ended

    assert await logs.detach("a-run-deleted-meanwhile", live) == 1


async def test_turns_pass_between_replicas_in_arrival_order(replicas: list[Storage]) -> None:
    a, b = replicas
    queue_a, queue_b = RunQueue(a.runs, a.wakeups), RunQueue(b.runs, b.wakeups)
    thread_id = await new_thread(a)
    first, second = run_record(thread_id), run_record(thread_id, created_offset_s=1)
    ticket_a = queue_a.admit(thread_id, first.run_id)
    await a.runs.create(first)
    ticket_b = queue_b.admit(thread_id, second.run_id)
    await b.runs.create(second)

    assert await queue_b.busy(thread_id, besides=second.run_id)
    await ticket_a.wait_turn()
    waiting = asyncio.create_task(ticket_b.wait_turn())
    still_pending = await b.runs.get(thread_id, second.run_id)
    await a.runs.set_status(first.run_id, "success")
    ticket_a.release()
    async with asyncio.timeout(DEADLINE_S):
        await waiting

    assert still_pending is not None and still_pending.status == "pending"
    now = await b.runs.get(thread_id, second.run_id)
    assert now is not None and now.status == "running"


async def test_a_cancel_request_from_another_replica_cancels_the_run_task(
    replicas: list[Storage],
) -> None:
    a, b = replicas
    queue_a, queue_b = RunQueue(a.runs, a.wakeups), RunQueue(b.runs, b.wakeups)
    thread_id = await new_thread(a)
    run = run_record(thread_id)
    ticket = queue_a.admit(thread_id, run.run_id)
    await a.runs.create(run)
    ticket.recorded()
    started = asyncio.Event()

    async def execute() -> None:
        await ticket.wait_turn()
        started.set()
        await asyncio.Event().wait()  # runs until cancelled

    task = asyncio.create_task(execute())
    async with asyncio.timeout(DEADLINE_S):
        await started.wait()

    await queue_b.cancel(thread_id)
    await queue_a.renew_leases()  # what a's upkeep does on its next beat

    with pytest.raises(asyncio.CancelledError):
        async with asyncio.timeout(DEADLINE_S):
            await task


async def test_a_run_whose_admission_has_not_committed_is_not_taken_for_lost(
    replicas: list[Storage], caplog: pytest.LogCaptureFixture
) -> None:
    a, _ = replicas
    queue = RunQueue(a.runs, a.wakeups)
    thread_id = await new_thread(a)
    run = run_record(thread_id)
    ticket = queue.admit(thread_id, run.run_id)  # its row is not written yet

    await queue.renew_leases()  # a beat (e.g. after the database connections were killed)
    await a.runs.create(run)
    ticket.recorded()
    await queue.renew_leases()

    assert "lease lost" not in caplog.text
    (lease,) = await a.runs.renew([run.run_id])
    assert lease.owner == a.runs.owner


async def test_a_draining_queue_refuses_runs_and_reports_when_idle(
    replicas: list[Storage],
) -> None:
    a, _ = replicas
    queue = RunQueue(a.runs, a.wakeups)
    thread_id = await new_thread(a)
    ticket = queue.admit(thread_id, "run-1")

    queue.stop_admitting()

    with pytest.raises(ServiceUnavailable, match="shutting down"):
        queue.admit(thread_id, "run-2")
    assert not await queue.wait_idle(0.01)
    ticket.release()
    assert await queue.wait_idle(DEADLINE_S)
