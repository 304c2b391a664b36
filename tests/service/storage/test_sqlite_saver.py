"""EmbeddedSqliteSaver: LangGraph's SQLite saver awaited inline, on real SQLite files."""

from __future__ import annotations

import operator
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Annotated, Any, TypedDict

import pytest
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver
from langgraph.graph import END, START, StateGraph
from langgraph.pregel import Pregel

from threadloom.service.storage.sqlite import open_sqlite
from threadloom.service.storage.sqlite_saver import EmbeddedSqliteSaver


class Counter(TypedDict):
    seen: Annotated[list[str], operator.add]


def _graph(saver: Any) -> Pregel:
    builder = StateGraph(Counter)
    builder.add_node("first", lambda state: {"seen": ["first"]})
    builder.add_node("second", lambda state: {"seen": ["second"]})
    builder.add_edge(START, "first")
    builder.add_edge("first", "second")
    builder.add_edge("second", END)
    return builder.compile(checkpointer=saver)


def _config(thread_id: str, run_id: str | None = None) -> dict[str, Any]:
    configurable = {"thread_id": thread_id}
    if run_id is not None:  # as the service passes it, so that checkpoints record it
        configurable["run_id"] = run_id
    return {"configurable": configurable}


@pytest.fixture
async def saver(tmp_path: Path) -> AsyncIterator[EmbeddedSqliteSaver]:
    async with open_sqlite(tmp_path / "saver.sqlite") as db:
        saver = EmbeddedSqliteSaver(db.connection)
        saver.setup()
        yield saver


async def _history(graph: Pregel, thread_id: str) -> list[Any]:
    return [snapshot async for snapshot in graph.aget_state_history(_config(thread_id))]


async def test_runs_a_graph_and_reads_its_state_and_history(saver: EmbeddedSqliteSaver) -> None:
    graph = _graph(saver)
    await graph.ainvoke({"seen": ["input"]}, _config("t1"))
    await graph.ainvoke({"seen": ["again"]}, _config("t1"))
    state = await graph.aget_state(_config("t1"))
    assert state.values["seen"] == ["input", "first", "second", "again", "first", "second"]
    assert len(await _history(graph, "t1")) == 8  # input, two nodes, end; twice


async def test_listing_while_awaiting_other_calls_does_not_block(
    saver: EmbeddedSqliteSaver,
) -> None:
    graph = _graph(saver)
    await graph.ainvoke({"seen": []}, _config("t1"))
    listed = 0
    async for item in saver.alist(_config("t1")):
        # Another call on the saver between two items of the listing.
        assert await saver.aget_tuple(item.config) is not None
        listed += 1
    assert listed == 4


async def test_delete_for_runs_returns_the_thread_to_before_the_run(
    saver: EmbeddedSqliteSaver,
) -> None:
    graph = _graph(saver)
    await graph.ainvoke({"seen": ["kept"]}, _config("t1", "11111111-1111-1111-1111-111111111111"))
    before = await graph.aget_state(_config("t1"))
    removed_run = "22222222-2222-2222-2222-222222222222"
    await graph.ainvoke({"seen": ["removed"]}, _config("t1", removed_run))
    await graph.ainvoke({"seen": ["other"]}, _config("t2", removed_run))

    await saver.adelete_for_runs([removed_run])

    after = await graph.aget_state(_config("t1"))
    assert after.values == before.values == {"seen": ["kept", "first", "second"]}
    assert after.config == before.config
    assert await saver.aget_tuple(_config("t2")) is None


async def test_copy_thread_copies_the_whole_history(saver: EmbeddedSqliteSaver) -> None:
    graph = _graph(saver)
    await graph.ainvoke({"seen": ["a"]}, _config("source"))
    await saver.acopy_thread("source", "copy")

    source, copy = await _history(graph, "source"), await _history(graph, "copy")
    assert [s.values for s in copy] == [s.values for s in source]
    assert [s.config["configurable"]["checkpoint_id"] for s in copy] == [
        s.config["configurable"]["checkpoint_id"] for s in source
    ]
    # The copy goes on by itself; the source does not change.
    await graph.ainvoke({"seen": ["b"]}, _config("copy"))
    assert (await graph.aget_state(_config("source"))).values["seen"] == ["a", "first", "second"]


async def test_prune_keeps_the_latest_checkpoint_or_none(saver: EmbeddedSqliteSaver) -> None:
    graph = _graph(saver)
    for thread_id in ("kept", "deleted", "untouched"):
        await graph.ainvoke({"seen": [thread_id]}, _config(thread_id))
    latest = await graph.aget_state(_config("kept"))

    await saver.aprune(["kept"], strategy="keep_latest")
    await saver.aprune(["deleted"], strategy="delete")

    history = await _history(graph, "kept")
    assert len(history) == 1
    assert history[0].values == latest.values and history[0].parent_config is None
    assert await saver.aget_tuple(_config("deleted")) is None
    assert len(await _history(graph, "untouched")) == 4


async def test_prune_refuses_an_unknown_strategy(saver: EmbeddedSqliteSaver) -> None:
    with pytest.raises(ValueError, match="Unknown prune strategy 'newest'"):
        await saver.aprune(["t1"], strategy="newest")


async def test_opens_a_file_that_asyncsqlitesaver_wrote(tmp_path: Path) -> None:
    path = tmp_path / "written-by-aio.sqlite"
    async with AsyncSqliteSaver.from_conn_string(str(path)) as aio:
        await _graph(aio).ainvoke({"seen": ["from aio"]}, _config("t1"))

    async with open_sqlite(path) as db:
        saver = EmbeddedSqliteSaver(db.connection)
        saver.setup()
        graph = _graph(saver)
        assert (await graph.aget_state(_config("t1"))).values == {
            "seen": ["from aio", "first", "second"]
        }
        await graph.ainvoke({"seen": ["embedded"]}, _config("t1"))
        assert len(await _history(graph, "t1")) == 8
