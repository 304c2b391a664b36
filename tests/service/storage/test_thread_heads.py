"""`ThreadHeads`: the newest run of many threads, against SQLite and a real PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.service.storage.test_storage import new_thread, run_record
from threadloom.service.settings import Settings
from threadloom.service.storage.backends import Storage, open_storage
from threadloom.service.storage.owners import acting_for
from threadloom.service.storage.thread_heads import ThreadHeads


class Selects:
    """How many SELECTs the storage ran."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, backend: str, sql: str, seconds: float) -> None:
        self.count += sql.lstrip().upper().startswith("SELECT")


@pytest.fixture
def selects() -> Selects:
    return Selects()


@pytest.fixture
async def storage(storage_settings: dict[str, Any], selects: Selects) -> AsyncIterator[Storage]:
    async with open_storage(Settings(**storage_settings), selects) as opened:
        yield opened


async def test_each_threads_newest_run_and_no_deleted_thread(storage: Storage) -> None:
    with_runs, without_runs, deleted = [await new_thread(storage) for _ in range(3)]
    older = run_record(with_runs, created_offset_s=-1)
    newer = run_record(with_runs)
    for run in (newer, older):
        await storage.runs.create(run)
    await storage.threads.delete(deleted)

    newest = await ThreadHeads(storage.database).newest_runs([with_runs, without_runs, deleted])

    assert newest == {with_runs: newer.run_id, without_runs: None}


async def test_one_statement_reads_a_chunk_of_threads(storage: Storage, selects: Selects) -> None:
    thread_ids = [await new_thread(storage) for _ in range(7)]
    before = selects.count

    newest = await ThreadHeads(storage.database, chunk=3).newest_runs(thread_ids)

    assert newest == dict.fromkeys(thread_ids)
    assert selects.count - before == 3


async def test_every_owners_threads_are_read(storage: Storage) -> None:
    with acting_for("ada"):
        adas = await new_thread(storage)
    with acting_for("bob"):
        newest = await ThreadHeads(storage.database).newest_runs([adas])

    assert newest == {adas: None}
