"""`ThreadWatches`: one poller for every followed thread, on real SQLite storage. The poller's
interval is an hour, so after its first look the test makes each poll itself (`poll`)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest

from tests.service.storage.test_storage import new_thread, run_record
from threadloom.service.settings import Settings
from threadloom.service.storage.backends import Storage, open_storage
from threadloom.service.storage.thread_heads import ThreadHeads
from threadloom.service.storage.wakeups import Subscription, admitted_topic
from threadloom.service.threads.watch import Follower, ThreadWatches, ThreadWatchFailed

DEADLINE_S = 10
CHUNK = 10  # threads per statement, small so that a few dozen threads take several


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
def watches(storage: Storage) -> ThreadWatches:
    @contextmanager
    def admissions(thread_id: str) -> Iterator[Subscription]:
        with storage.wakeups.subscribe(admitted_topic(thread_id)) as admitted:
            yield admitted

    heads = ThreadHeads(storage.database, chunk=CHUNK)
    return ThreadWatches(heads, admissions, poll_interval_s=3600)


async def changed(*followers: Follower) -> None:
    async with asyncio.timeout(DEADLINE_S):
        await asyncio.gather(*(follower.changed() for follower in followers))


async def test_a_poll_of_many_threads_is_a_statement_per_chunk_whatever_the_followers(
    storage: Storage, statements: Statements, watches: ThreadWatches
) -> None:
    thread_ids = [await new_thread(storage) for _ in range(3 * CHUNK)]
    with ExitStack() as stack:
        followers = [stack.enter_context(watches.follow(t)) for t in thread_ids for _ in "ab"]
        await changed(*followers)  # the poller's first look wakes every follower
        before = statements.selects
        await storage.runs.create(run_record(thread_ids[0]))
        await watches.poll()

        # Only the followers of the thread with a new run wake; those of the others wait (the
        # poll woke whom it wakes before returning, so a short wait shows they were not).
        await changed(*followers[:2])
        waiting = [asyncio.create_task(follower.changed()) for follower in followers[2:]]
        woken, _ = await asyncio.wait(waiting, timeout=0.1)
        for task in waiting:
            task.cancel()

    assert not woken
    assert statements.selects - before == 3


async def test_a_run_admitted_here_wakes_the_followers_without_a_poll(
    storage: Storage, statements: Statements, watches: ThreadWatches
) -> None:
    thread_id = await new_thread(storage)
    with watches.follow(thread_id) as first, watches.follow(thread_id) as second:
        await changed(first, second)
        before = statements.selects
        storage.wakeups.wake_local(admitted_topic(thread_id))
        await changed(first, second)

    assert statements.selects == before


async def test_a_deleted_thread_is_gone_and_its_id_gets_a_new_watch(
    storage: Storage, watches: ThreadWatches
) -> None:
    thread_id = await new_thread(storage)
    with watches.follow(thread_id) as follower:
        await changed(follower)
        await storage.threads.delete(thread_id)
        await watches.poll()
        await changed(follower)
        assert follower.gone
        with watches.follow(thread_id) as again:
            assert not again.gone


async def test_the_last_follower_out_stops_the_poller(
    storage: Storage, watches: ThreadWatches
) -> None:
    with watches.follow(await new_thread(storage)) as follower:
        await changed(follower)
        poller = watches.poller
    assert poller is not None and watches.poller is None
    with pytest.raises(asyncio.CancelledError):
        await poller


async def test_followers_learn_that_the_database_could_not_be_read(
    storage: Storage, watches: ThreadWatches
) -> None:
    thread_id = await new_thread(storage)
    with watches.follow(thread_id) as follower:
        await changed(follower)
        await storage.database.execute("DROP TABLE runs")
        await watches.poll()
        with pytest.raises(ThreadWatchFailed, match=thread_id):
            await changed(follower)
