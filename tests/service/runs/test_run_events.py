"""A run's event log sends only stored events, so the ids clients hold never lie (SQLite and
PostgreSQL)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.service.storage.test_storage import new_thread, run_record
from threadloom.service.runs.events import EventLogs
from threadloom.service.settings import Settings
from threadloom.service.storage.backends import Storage, open_storage
from threadloom.service.storage.records import RunEvent
from threadloom.service.storage.runs import Runs

DEADLINE_S = 10  # a bound on waiting, so a bug fails the test instead of hanging it


@pytest.fixture
async def storage(storage_settings: dict[str, Any]) -> AsyncIterator[Storage]:
    async with open_storage(Settings(**storage_settings, poll_interval_s=0.1)) as opened:
        yield opened


async def test_a_reader_gets_each_event_only_once_it_is_stored(storage: Storage) -> None:
    run = run_record(await new_thread(storage))
    await storage.runs.create(run)
    logs = EventLogs(storage.events, storage.wakeups)
    live = logs.create(run.run_id)
    stored_when_read: list[tuple[int, int]] = []

    async def read() -> None:
        async for index, _ in live.follow(0):
            stored_when_read.append((index, await storage.events.count(run.run_id)))

    reading = asyncio.create_task(read())
    for n in range(20):
        live.append(RunEvent("values", b"[%d]" % n))
        await asyncio.sleep(0)  # a yield, not a wait: the reader and writer interleave
    live.close()
    async with asyncio.timeout(DEADLINE_S):
        await reading
    await logs.aclose(DEADLINE_S)

    assert [index for index, _ in stored_when_read] == list(range(20))
    assert all(index < stored for index, stored in stored_when_read), stored_when_read


async def test_a_log_taken_over_by_another_replica_sends_nothing_it_did_not_store(
    storage: Storage,
) -> None:
    run = run_record(await new_thread(storage))
    # This replica's run, with a lease that runs out at once (as if it stopped renewing).
    await Runs(storage.database, owner=storage.runs.owner, lease_ttl_s=-1).create(run)
    logs = EventLogs(storage.events, storage.wakeups)
    live = logs.create(run.run_id)
    live.append(RunEvent("values", b"[0]"))
    async with asyncio.timeout(DEADLINE_S):
        first = await anext(aiter(live.follow(0)))  # stored: a reader has it
    # Another replica takes the run over, then this one's next events come.
    other = Runs(storage.database, owner="other", lease_ttl_s=30)
    assert len(await other.recover_expired(retry=True)) == 1
    live.append(RunEvent("values", b"[1]"))
    live.append(RunEvent("values", b"[2]"))

    async with asyncio.timeout(DEADLINE_S):
        seen = [i async for i, _ in live.follow(0)]  # ends: the log is abandoned here
    live.close()
    await logs.aclose(DEADLINE_S)

    assert first[0] == 0
    assert seen == [0]
    assert await storage.events.count(run.run_id) == 1
