"""PostgreSQL only: replicas starting together, and connections that the server drops."""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack

import psycopg
import pytest

from threadloom.service.ids import new_id
from threadloom.service.settings import Settings
from threadloom.service.storage.backends import Storage, open_storage
from threadloom.service.storage.migrations import MIGRATIONS

pytestmark = pytest.mark.postgres

DEADLINE_S = 30  # a bound on waiting, so a bug fails the test instead of hanging it


async def open_many(stack: AsyncExitStack, url: str, count: int) -> list[Storage]:
    # A long poll interval: a waiter that returns was woken, it did not time out.
    settings = Settings(database_url=url, poll_interval_s=60)
    return [await stack.enter_async_context(open_storage(settings)) for _ in range(count)]


async def test_replicas_starting_together_migrate_the_schema_once(postgres_url: str) -> None:
    settings = Settings(database_url=postgres_url)

    async def start_and_create_a_thread() -> None:
        async with open_storage(settings) as storage:
            assert await storage.threads.create(new_id(), {}) is not None

    async with asyncio.timeout(DEADLINE_S):
        await asyncio.gather(*(start_and_create_a_thread() for _ in range(3)))

    with psycopg.connect(postgres_url) as conn:
        ours = conn.execute("SELECT version FROM threadloom_migrations ORDER BY 1").fetchall()
        theirs = conn.execute("SELECT v FROM checkpoint_migrations ORDER BY 1").fetchall()
        (threads,) = conn.execute("SELECT COUNT(*) FROM threads").fetchone()
    assert ours == [(number,) for number in range(1, len(MIGRATIONS) + 1)]
    assert theirs == [(v,) for v in range(len(theirs))] and len(theirs) > 1
    assert threads == 3


async def test_wakeups_reach_the_other_replicas(postgres_url: str) -> None:
    async with AsyncExitStack() as stack:
        here, there = await open_many(stack, postgres_url, 2)
        with here.wakeups.subscribe("thread:x") as woken:
            await there.wakeups.publish("thread:x")
            async with asyncio.timeout(DEADLINE_S):
                await woken.wait()


async def test_pool_and_listener_come_back_after_the_server_drops_their_connections(
    postgres_url: str,
) -> None:
    async with AsyncExitStack() as stack:
        here, there = await open_many(stack, postgres_url, 2)
        thread_id = new_id()
        await here.threads.create(thread_id, {"kept": True})
        config = {"configurable": {"thread_id": thread_id, "checkpoint_ns": ""}}

        with here.wakeups.subscribe("run:r") as woken:
            with psycopg.connect(postgres_url, autocommit=True) as admin:
                (dropped,) = admin.execute(
                    "SELECT COUNT(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                ).fetchone()
            assert dropped >= 4  # each replica's pool and listening connection at least
            async with asyncio.timeout(DEADLINE_S):
                await woken.wait()  # listening again: every waiter is woken to look again
                thread = await here.threads.get(thread_id)
                assert await here.checkpointer.aget_tuple(config) is None
                await there.wakeups.publish("run:r")
                await woken.wait()

    assert thread is not None and thread.metadata == {"kept": True}
