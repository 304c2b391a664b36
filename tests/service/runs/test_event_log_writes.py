"""The event log's writer: it retries a batch while the database is unreachable, for a bounded
time, and never retries a failure that trying again cannot fix."""

from __future__ import annotations

import sqlite3
from typing import Any

import pytest

from threadloom.service.runs import events
from threadloom.service.runs.events import EventLogs
from threadloom.service.storage.records import RunEvent
from threadloom.service.storage.wakeups import Wakeups


class FailingStore:
    """A run-event store whose appends fail with the given errors, in order, then succeed."""

    def __init__(self, *errors: Exception) -> None:
        self.errors = list(errors)
        self.appends = 0

    async def append(self, run_id: str, first: int, batch: list[Any], **_: Any) -> bool:
        self.appends += 1
        if self.errors:
            raise self.errors.pop(0)
        return True


async def write_one_closed_log(store: FailingStore) -> None:
    logs = EventLogs(store, Wakeups(poll_interval_s=0.001))  # type: ignore[arg-type]
    log = logs.create("run-1")
    log.append(RunEvent("values", b"{}"))
    log.close()
    await logs.aclose(timeout_s=60)


async def test_a_connection_error_is_retried_and_a_bad_statement_is_not() -> None:
    store = FailingStore(sqlite3.OperationalError("database is locked"), ValueError("bad"))
    await write_one_closed_log(store)
    assert store.appends == 2  # retried once after the connection error, not after ValueError


async def test_retries_stop_after_the_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(events, "WRITE_RETRY_LIMIT_S", -1.0)
    store = FailingStore(*(sqlite3.OperationalError("unreachable") for _ in range(5)))
    await write_one_closed_log(store)
    assert store.appends == 1
