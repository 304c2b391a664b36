"""`open_storage`: the checkpointer and the service's tables, in SQLite or in PostgreSQL.

Example:
    >>> async with open_storage(Settings(db=Path("data/dev.sqlite"))) as storage:
    ...     thread = await storage.threads.create(new_id(), {})
"""

from __future__ import annotations

import os
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from uuid import uuid4

from langgraph.checkpoint.base import BaseCheckpointSaver

from threadloom.service.settings import Settings
from threadloom.service.storage.checkpoint_metadata import ThreadPostgresSaver
from threadloom.service.storage.database import Database
from threadloom.service.storage.postgres import PostgresDatabase, describe, open_pool
from threadloom.service.storage.postgres_wakeups import PostgresWakeups
from threadloom.service.storage.run_events import RunEventStore
from threadloom.service.storage.runs import Runs
from threadloom.service.storage.sqlite import open_sqlite
from threadloom.service.storage.sqlite_saver import EmbeddedSqliteSaver
from threadloom.service.storage.thread_ttls import CheckpointerTtl
from threadloom.service.storage.threads import Threads
from threadloom.service.storage.timed_database import StatementObserver, TimedDatabase
from threadloom.service.storage.wakeups import Wakeups

# The one process that serves a SQLite file always has this id, so after a crash it settles the
# runs its previous process left at once.
EMBEDDED_REPLICA = "embedded"


@dataclass(frozen=True, slots=True)
class Storage:
    """The opened database: LangGraph's checkpoints and the service's tables, side by side.

    A new table is a class over `database` (see `Threads`), its schema a `Migration`.
    """

    database: Database
    checkpointer: BaseCheckpointSaver
    threads: Threads
    runs: Runs
    events: RunEventStore
    wakeups: Wakeups
    location: str  # for logs; never holds credentials

    @property
    def replica_id(self) -> str:
        return self.runs.owner


@asynccontextmanager
async def open_storage(
    settings: Settings, observe_statement: StatementObserver | None = None
) -> AsyncIterator[Storage]:
    """Open the database the settings name, with every table created or migrated; the tables'
    statements are reported to `observe_statement` if given (the checkpointer's are not)."""
    if settings.database_url is None:
        async with _open_sqlite(settings, observe_statement) as storage:
            yield storage
    else:
        url = settings.database_url.get_secret_value()
        async with _open_postgres(settings, url, observe_statement) as storage:
            yield storage


@asynccontextmanager
async def _open_sqlite(
    settings: Settings, observe: StatementObserver | None
) -> AsyncIterator[Storage]:
    async with open_sqlite(settings.db) as db:
        checkpointer = EmbeddedSqliteSaver(db.connection)
        checkpointer.setup()
        wakeups = Wakeups(settings.poll_interval_s)
        yield _storage(
            _tables_db(db, observe), checkpointer, wakeups, settings, str(settings.db),
            EMBEDDED_REPLICA,
        )


@asynccontextmanager
async def _open_postgres(
    settings: Settings, url: str, observe: StatementObserver | None
) -> AsyncIterator[Storage]:
    async with open_pool(
        url, max_size=settings.db_pool_size, connect_timeout_s=settings.db_connect_timeout_s
    ) as pool:
        db = PostgresDatabase(pool)
        checkpointer = ThreadPostgresSaver(pool)
        async with db.schema_lock():
            await db.migrate()
            await checkpointer.setup()
        wakeups = PostgresWakeups(url, db, settings.poll_interval_s)
        await wakeups.start()
        try:
            replica = f"{socket.gethostname()}-{os.getpid()}-{uuid4().hex[:8]}"
            tables_db = _tables_db(db, observe)
            yield _storage(tables_db, checkpointer, wakeups, settings, describe(url), replica)
        finally:
            await wakeups.aclose()


def _tables_db(db: Database, observe: StatementObserver | None) -> Database:
    return db if observe is None else TimedDatabase(db, observe)


def _storage(
    db: Database,
    checkpointer: BaseCheckpointSaver,
    wakeups: Wakeups,
    settings: Settings,
    location: str,
    default_replica: str,
) -> Storage:
    runs = Runs(db, owner=settings.replica_id or default_replica, lease_ttl_s=settings.lease_ttl_s)
    threads = Threads(db, CheckpointerTtl.from_setting(settings.checkpointer_ttl).default())
    events = RunEventStore(db, owner=runs.owner)
    return Storage(db, checkpointer, threads, runs, events, wakeups, location)
