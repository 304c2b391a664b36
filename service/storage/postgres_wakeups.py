"""Wake-ups across replicas with PostgreSQL's LISTEN / NOTIFY.

One dedicated connection listens on a channel; a topic published by any replica reaches every
replica's local waiters. When the listening connection breaks it is opened again, and every
waiter is woken, since notifications sent meanwhile are lost; each then re-reads the database.
"""

from __future__ import annotations

import asyncio
import logging

import psycopg

from threadloom.service.storage.database import Queries
from threadloom.service.storage.postgres import PostgresDatabase, describe
from threadloom.service.storage.wakeups import Wakeups

logger = logging.getLogger(__name__)

CHANNEL = "threadloom"
# Reconnecting waits this long after a failure, doubling up to the most.
RECONNECT_FIRST_S = 0.1
RECONNECT_MAX_S = 10.0
# After this long without a notification, the connection is checked.
QUIET_CHECK_S = 30.0


class PostgresWakeups(Wakeups):
    """`Wakeups` that also reach, and hear from, the other replicas on the same database."""

    def __init__(self, url: str, db: PostgresDatabase, poll_interval_s: float) -> None:
        super().__init__(poll_interval_s)
        self._url = url
        self._db = db
        self._listening = asyncio.Event()
        self._listener: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Start listening; returns once the channel is listened to."""
        self._listener = asyncio.create_task(self._listen(), name="postgres-listen")
        await self._listening.wait()

    async def notify_others(self, topic: str) -> None:
        try:
            await self._db.execute("SELECT pg_notify(?, ?)", (CHANNEL, topic))
        except psycopg.Error as exc:
            # Other replicas still see the change when they next poll.
            logger.warning("notify failed topic=%s error=%s", topic, type(exc).__name__)

    async def notify_others_in(self, tx: Queries, topic: str) -> None:
        # NOTIFY in a transaction is sent when it commits.
        await tx.execute("SELECT pg_notify(?, ?)", (CHANNEL, topic))

    async def aclose(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            await asyncio.gather(self._listener, return_exceptions=True)

    async def _listen(self) -> None:
        delay_s = RECONNECT_FIRST_S
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(
                    self._url, autocommit=True
                ) as conn:
                    await conn.execute(f"LISTEN {CHANNEL}")
                    if self._listening.is_set():
                        logger.info("listening again on %s", describe(self._url))
                    self._listening.set()
                    delay_s = RECONNECT_FIRST_S
                    self.wake_all()  # whatever was sent while not listening is lost
                    await self._receive(conn)
            except psycopg.Error as exc:
                logger.warning(
                    "listen connection to %s lost error=%s; reconnecting in %g s",
                    describe(self._url),
                    type(exc).__name__,
                    delay_s,
                )
                self._listening.set()  # start-up goes on; waiters poll meanwhile
                await asyncio.sleep(delay_s)
                delay_s = min(delay_s * 2, RECONNECT_MAX_S)

    async def _receive(self, conn: psycopg.AsyncConnection) -> None:
        while True:
            async for notify in conn.notifies(timeout=QUIET_CHECK_S):
                self.wake_local(notify.payload)
            # Quiet for a while: make sure the connection is still there.
            await conn.execute("SELECT 1")
