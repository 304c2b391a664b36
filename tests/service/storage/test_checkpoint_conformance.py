"""LangGraph's checkpointer conformance suite (`langgraph-checkpoint-conformance`) against the
two savers threadloom serves with: `EmbeddedSqliteSaver` on a real SQLite file, and
`ThreadPostgresSaver` on a pool opened as `open_storage` opens it, in a fresh schema."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from itertools import count
from pathlib import Path

import pytest
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.conformance import checkpointer_test, validate
from langgraph.checkpoint.conformance.report import ProgressCallbacks

from threadloom.service.storage.checkpoint_metadata import ThreadPostgresSaver
from threadloom.service.storage.postgres import open_pool
from threadloom.service.storage.sqlite import open_sqlite
from threadloom.service.storage.sqlite_saver import EmbeddedSqliteSaver

SaverFactory = Callable[[], AsyncIterator[BaseCheckpointSaver]]


def _sqlite_factory(tmp_path: Path) -> SaverFactory:
    files = count()

    async def saver() -> AsyncIterator[BaseCheckpointSaver]:
        # A new file for each capability suite, as the service opens one per process.
        async with open_sqlite(tmp_path / f"conformance-{next(files)}.sqlite") as db:
            checkpointer = EmbeddedSqliteSaver(db.connection)
            checkpointer.setup()
            yield checkpointer

    return saver


def _postgres_factory(url: str) -> SaverFactory:
    async def saver() -> AsyncIterator[BaseCheckpointSaver]:
        async with open_pool(url, max_size=4, connect_timeout_s=5) as pool:
            checkpointer = ThreadPostgresSaver(pool)
            await checkpointer.setup()
            yield checkpointer

    return saver


# The optional capabilities a saver leaves out are not tested by the suite (it detects them by
# whether the method is overridden), so each saver's list is pinned here: one that silently lost
# a capability would otherwise still pass. LangGraph's Postgres saver (3.2) has no
# `adelete_for_runs` / `acopy_thread`; threadloom does that work itself for it
# (service/storage/checkpoint_removal.py, service/storage/thread_checkpoints.py).
UNTESTED = {
    "EmbeddedSqliteSaver": set(),
    "ThreadPostgresSaver": {"delete_for_runs", "copy_thread"},
}


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def saver_factory(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, SaverFactory]:
    if request.param == "sqlite":
        return "EmbeddedSqliteSaver", _sqlite_factory(tmp_path)
    return "ThreadPostgresSaver", _postgres_factory(request.getfixturevalue("postgres_url"))


async def test_saver_passes_every_case_of_its_capabilities(
    saver_factory: tuple[str, SaverFactory],
) -> None:
    name, factory = saver_factory
    failures: dict[str, str] = {}
    passed: list[str] = []

    def on_result(capability: str, case: str, ok: bool, error: str | None) -> None:
        key = f"{capability}/{case}"
        if ok:
            passed.append(key)
        else:
            failures[key] = error or ""

    report = await validate(
        checkpointer_test(name=name)(factory),
        progress=ProgressCallbacks(on_test_result=on_result),
    )
    assert not failures, "\n".join(f"{case}:\n{error}" for case, error in failures.items())
    untested = {cap for cap, result in report.results.items() if not result.detected}
    assert untested == UNTESTED[name]
    assert {key.split("/")[0] for key in passed} == set(report.results) - untested
