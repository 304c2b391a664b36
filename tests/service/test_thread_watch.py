"""`ThreadWatches`: one watcher per followed thread, on real SQLite storage; the test steps the
watcher's polls by hand instead of waiting for a poll interval."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.service.test_storage import new_thread, run_record
from threadloom.service.settings import Settings
from threadloom.service.storage.backends import Storage, open_storage
from threadloom.service.thread_watch import ThreadWatches, ThreadWatchFailed

DEADLINE_S = 10


class Polls:
    """Admissions whose waits return when the test says: one `tick` is one more look."""

    def __init__(self) -> None:
        self.subscribed = 0
        self._ticks: asyncio.Queue[None] = asyncio.Queue()

    @contextmanager
    def admissions(self, thread_id: str) -> Iterator[Polls]:
        self.subscribed += 1
        yield self

    async def wait(self) -> None:
        await self._ticks.get()

    def tick(self) -> None:
        self._ticks.put_nowait(None)


class Statements:
    """How many SELECTs the storage ran."""

    def __init__(self) -> None:
        self.selects = 0

    def __call__(self, backend: str, sql: str, seconds: float) -> None:
        self.selects += sql.lstrip().upper().startswith("SELECT")


@pytest.fixture
def statements() -> Statements:
    return Statements()


@pytest.fixture
async def storage(tmp_path: Path, statements: Statements) -> AsyncIterator[Storage]:
    async with open_storage(Settings(db=tmp_path / "threadloom.sqlite"), statements) as opened:
        yield opened


@pytest.fixture
def polls() -> Polls:
    return Polls()


@pytest.fixture
def watches(storage: Storage, polls: Polls) -> ThreadWatches:
    return ThreadWatches(storage.threads, storage.runs, polls.admissions)


async def test_followers_of_one_thread_share_one_watcher(
    storage: Storage, statements: Statements, polls: Polls, watches: ThreadWatches
) -> None:
    thread_id = await new_thread(storage)
    with watches.follow(thread_id) as first:
        async with asyncio.timeout(DEADLINE_S):
            await first.changed(0)  # the first look
        looked_once = statements.selects
        with watches.follow(thread_id) as second, watches.follow(thread_id) as third:
            for _ in range(3):
                seen = first.changes
                await storage.runs.create(run_record(thread_id))
                polls.tick()
                async with asyncio.timeout(DEADLINE_S):
                    await asyncio.gather(*(w.changed(seen) for w in (first, second, third)))

    assert first is second is third
    assert polls.subscribed == 1
    assert first.changes == 4
    # Each look reads the newest run and the thread, whatever the number of followers.
    assert statements.selects - looked_once == 3 * 2


async def test_a_deleted_thread_is_gone_and_its_id_gets_a_new_watch(
    storage: Storage, polls: Polls, watches: ThreadWatches
) -> None:
    thread_id = await new_thread(storage)
    with watches.follow(thread_id) as watch:
        async with asyncio.timeout(DEADLINE_S):
            await watch.changed(0)
        await storage.threads.delete(thread_id)
        polls.tick()
        async with asyncio.timeout(DEADLINE_S):
            await watch.changed(1)
        with watches.follow(thread_id) as again:
            pass

    assert watch.gone
    assert again is not watch


async def test_the_last_follower_out_stops_the_watcher(
    storage: Storage, watches: ThreadWatches
) -> None:
    thread_id = await new_thread(storage)
    with watches.follow(thread_id) as watch:
        async with asyncio.timeout(DEADLINE_S):
            await watch.changed(0)
    assert watch.task is not None
    with pytest.raises(asyncio.CancelledError):
        await watch.task


async def test_followers_learn_that_the_watcher_failed(
    storage: Storage, polls: Polls, watches: ThreadWatches
) -> None:
    thread_id = await new_thread(storage)
    with watches.follow(thread_id) as watch:
        async with asyncio.timeout(DEADLINE_S):
            await watch.changed(0)
        await storage.database.execute("DROP TABLE runs")
        polls.tick()
        with pytest.raises(ThreadWatchFailed, match=thread_id):
            async with asyncio.timeout(DEADLINE_S):
                await watch.changed(1)
