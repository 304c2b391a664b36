"""The store a served graph gets at run time (`GraphStore`): the Store API's items, per owner.

First the adapter's operations on each database, then a real server whose graph writes and
reads the store while the SDK reads and writes the same items, with runs started by requests
and by crons, with and without API keys.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any, TypedDict

import pytest
from langgraph.config import get_store
from langgraph.graph import END, START, StateGraph
from langgraph.store.base import (
    BaseStore,
    GetOp,
    InvalidNamespaceError,
    ListNamespacesOp,
    MatchCondition,
    PutOp,
    SearchOp,
)
from langgraph_sdk import get_client
from langgraph_sdk.client import LangGraphClient

from tests.service.live_server import StartServer
from threadloom.service.errors import BadRequest, NotSupported
from threadloom.service.settings import Settings
from threadloom.service.storage import store_items
from threadloom.service.storage.backends import open_storage
from threadloom.service.storage.graph_store import GraphStore, SyncStoreCallError
from threadloom.service.storage.owners import acting_for
from threadloom.service.storage.records import utc_now
from threadloom.service.storage.store_items import StoreItems

DEADLINE_S = 20  # a bound on waiting, so a bug fails the test instead of hanging it
KEYS = "alice:key-of-alice,bob:key-of-bob"
YEARLY = "0 9 1 1 *"


@pytest.fixture
async def store(storage_settings: dict[str, Any]) -> AsyncIterator[GraphStore]:
    async with open_storage(Settings(**storage_settings)) as storage:
        yield GraphStore(StoreItems(storage.database))


def keys(items: list[Any]) -> list[tuple[tuple[str, ...], str]]:
    return [(item.namespace, item.key) for item in items]


# The adapter's operations.


async def test_put_get_and_put_none_deletes(store: GraphStore) -> None:
    await store.aput(("users", "ada"), "prefs", {"theme": "dark"})
    first = await store.aget(("users", "ada"), "prefs")
    await store.aput(("users", "ada"), "prefs", {"theme": "light"})
    second = await store.aget(("users", "ada"), "prefs")

    assert first is not None and second is not None
    assert (first.namespace, first.key) == (("users", "ada"), "prefs")
    assert first.value == {"theme": "dark"}
    assert second.value == {"theme": "light"} and second.created_at == first.created_at
    assert second.updated_at > first.updated_at
    assert await store.aget(("users",), "prefs") is None

    results = await store.abatch(
        [PutOp(("users", "ada"), "prefs", None), GetOp(("users", "ada"), "prefs")]
    )
    assert results == [None, None]
    await store.adelete(("users", "ada"), "prefs")  # gone already: no error


async def test_search_filters_ignores_a_query_without_an_index_and_pages(store: GraphStore) -> None:
    await store.aput(("docs", "ada"), "a", {"kind": "note", "text": "Tea at five"})
    await store.aput(("docs", "ada", "old"), "b", {"kind": "note", "text": "coffee"})
    await store.aput(("docs", "bob"), "c", {"kind": "todo", "text": "Buy tea"})
    await store.aput(("other",), "d", {"kind": "note"})

    newest_first = [(("docs", "bob"), "c"), (("docs", "ada", "old"), "b"), (("docs", "ada"), "a")]
    assert keys(await store.asearch(("docs",))) == newest_first
    assert keys(await store.asearch(("docs", "ada"))) == newest_first[1:]
    assert keys(await store.asearch(("docs",), filter={"kind": "note"})) == newest_first[1:]
    assert keys(await store.asearch(("docs",), query="TEA")) == newest_first
    assert keys(await store.asearch(("docs",), limit=1, offset=1)) == [newest_first[1]]
    assert len(await store.asearch(())) == 4
    (found,) = await store.asearch(("docs", "bob"))
    assert found.score is None and found.value == {"kind": "todo", "text": "Buy tea"}
    with pytest.raises(NotSupported, match="Filter operators"):
        await store.asearch(("docs",), filter={"kind": {"$ne": "note"}})


async def test_list_namespaces_by_prefix_suffix_depth_and_page(store: GraphStore) -> None:
    for namespace in [("a", "b", "c"), ("a", "b", "d"), ("a", "x"), ("z", "b", "c")]:
        await store.aput(namespace, "k", {})

    assert await store.alist_namespaces() == [
        ("a", "b", "c"),
        ("a", "b", "d"),
        ("a", "x"),
        ("z", "b", "c"),
    ]
    assert await store.alist_namespaces(prefix=("a", "b")) == [("a", "b", "c"), ("a", "b", "d")]
    assert await store.alist_namespaces(suffix=("c",)) == [("a", "b", "c"), ("z", "b", "c")]
    assert await store.alist_namespaces(prefix=("*", "b"), suffix=("c",)) == [
        ("a", "b", "c"),
        ("z", "b", "c"),
    ]
    assert await store.alist_namespaces(max_depth=2) == [("a", "b"), ("a", "x"), ("z", "b")]
    assert await store.alist_namespaces(limit=2, offset=1) == [("a", "b", "d"), ("a", "x")]
    two_prefixes = ListNamespacesOp(
        (MatchCondition("prefix", ("a",)), MatchCondition("prefix", ("z",)))
    )
    with pytest.raises(NotSupported, match="one prefix condition"):
        await store.abatch([two_prefixes])


async def test_ttl_is_minutes_since_the_last_write_or_refreshing_read(
    store: GraphStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    await store.aput(("ttl",), "brief", {"n": 1}, ttl=10)
    start = utc_now()

    def later(minutes: float) -> None:
        monkeypatch.setattr(store_items, "utc_now", lambda: start + timedelta(minutes=minutes))

    later(9)
    assert await store.aget(("ttl",), "brief", refresh_ttl=False) is not None
    assert len(await store.asearch(("ttl",))) == 1  # renewed: until 19 minutes
    later(18)
    assert await store.aget(("ttl",), "brief") is not None  # renewed: until 28 minutes
    later(27)
    assert await store.aget(("ttl",), "brief", refresh_ttl=False) is not None
    later(29)
    assert await store.aget(("ttl",), "brief") is None
    assert await store.alist_namespaces() == []


async def test_bad_namespaces_and_ttls_are_refused_and_write_nothing(store: GraphStore) -> None:
    for namespace in [("a.b",), ("a", ""), ()]:
        with pytest.raises(InvalidNamespaceError):
            await store.aput(namespace, "k", {"n": 1})
    with pytest.raises(InvalidNamespaceError):  # ops given to `abatch` directly are checked too
        await store.abatch([PutOp(("a.b",), "k", {"n": 1})])
    with pytest.raises(InvalidNamespaceError):
        await store.abatch([SearchOp(("a.b",))])
    with pytest.raises(BadRequest, match="positive number of minutes"):
        await store.aput(("a",), "k", {"n": 1}, ttl=0)

    assert await store.asearch(()) == [] and await store.alist_namespaces() == []


async def test_sync_calls_work_from_a_worker_thread_as_its_owner(store: GraphStore) -> None:
    with pytest.raises(SyncStoreCallError, match="use the async methods"):
        store.get(("a",), "k")  # on the event loop itself it would block forever

    with acting_for("alice"):
        await asyncio.to_thread(store.put, ("a",), "k", {"who": "alice"})
        found = await asyncio.to_thread(store.get, ("a",), "k")
    with acting_for("bob"):
        assert await asyncio.to_thread(store.search, ("a",)) == []
    assert found is not None and found.value == {"who": "alice"}


async def test_each_owner_has_a_store_of_its_own(store: GraphStore) -> None:
    with acting_for("alice"):
        await store.aput(("a",), "k", {"who": "alice"})
    with acting_for("bob"):
        await store.aput(("a",), "k", {"who": "bob"})
        assert (await store.aget(("a",), "k")).value == {"who": "bob"}  # type: ignore[union-attr]
    with acting_for("alice"):
        assert [item.value for item in await store.asearch(("a",))] == [{"who": "alice"}]
    assert await store.aget(("a",), "k") is None  # auth off has a store of its own too


# A served graph using the store.


class Notes(TypedDict, total=False):
    note: str
    folder: str
    inbox: dict[str, Any] | None
    folders: list[list[str]]


def notes_graph(settings: Settings) -> StateGraph:
    """Files the input's note under `folder`, reads the `inbox` item the API put (an async node
    given the store), then lists the namespaces (a plain `def` node, through `get_store`)."""

    async def file_note(state: Notes, store: BaseStore) -> Notes:
        await store.aput((state.get("folder", "notes"),), "last", {"text": state["note"]})
        item = await store.aget(("inbox",), "msg")
        return {"inbox": item.value if item else None}

    def list_folders(state: Notes) -> Notes:
        return {"folders": [list(ns) for ns in get_store().list_namespaces()]}

    graph = StateGraph(Notes)
    graph.add_node("file_note", file_note)
    graph.add_node("list_folders", list_folders)
    graph.add_edge(START, "file_note")
    graph.add_edge("file_note", "list_folders")
    graph.add_edge("list_folders", END)
    return graph


async def test_a_run_reads_and_writes_the_items_the_api_serves(
    storage_settings: dict[str, Any], start: StartServer
) -> None:
    # (`storage_settings` first: its database must outlive the server, stopped by `start`.)
    server = await start(graph_factory=notes_graph, **storage_settings)
    async with get_client(url=server.url) as sdk:
        await sdk.store.put_item(["inbox"], "msg", {"text": "from the API"})
        result = await sdk.runs.wait(None, "agent", input={"note": "from the graph"})

        assert result["inbox"] == {"text": "from the API"}
        assert result["folders"] == [["inbox"], ["notes"]]
        item = await sdk.store.get_item(["notes"], "last")
        assert item is not None and item["value"] == {"text": "from the graph"}

        failed = await sdk.runs.wait(
            None, "agent", input={"note": "x", "folder": "a.b"}, raise_error=False
        )
        assert failed["__error__"]["error"] == "InvalidNamespaceError"
        assert (await sdk.store.list_namespaces())["namespaces"] == [["inbox"], ["notes"]]


async def run_as(sdk: LangGraphClient, note: str) -> dict[str, Any]:
    async with asyncio.timeout(DEADLINE_S):
        return await sdk.runs.wait(None, "agent", input={"note": note})  # type: ignore[return-value]


async def test_runs_use_the_store_of_the_owner_who_started_them(
    storage_settings: dict[str, Any], start: StartServer
) -> None:
    server = await start(graph_factory=notes_graph, api_keys=KEYS, **storage_settings)
    async with (
        get_client(url=server.url, api_key="key-of-alice") as alice,
        get_client(url=server.url, api_key="key-of-bob") as bob,
    ):
        await alice.store.put_item(["inbox"], "msg", {"for": "alice"})

        bobs = await run_as(bob, "bob's note")
        alices = await run_as(alice, "alice's note")

        assert bobs["inbox"] is None and bobs["folders"] == [["notes"]]
        assert alices["inbox"] == {"for": "alice"}
        assert alices["folders"] == [["inbox"], ["notes"]]
        for sdk, note in ((alice, "alice's note"), (bob, "bob's note")):
            item = await sdk.store.get_item(["notes"], "last")
            assert item is not None and item["value"] == {"text": note}


async def test_a_cron_run_uses_the_store_of_the_crons_owner(
    storage_settings: dict[str, Any], start: StartServer
) -> None:
    server = await start(graph_factory=notes_graph, api_keys=KEYS, **storage_settings)
    async with (
        get_client(url=server.url, api_key="key-of-alice") as alice,
        get_client(url=server.url, api_key="key-of-bob") as bob,
    ):
        cron = await alice.crons.create("agent", schedule=YEARLY, input={"note": "by cron"})
        scheduler = server.app.state.services.cron_jobs.scheduler
        (run,) = await scheduler.tick(datetime.fromisoformat(cron["next_run_date"]))
        async with asyncio.timeout(DEADLINE_S):
            assert (await run.outcome()).status == "success"

        item = await alice.store.get_item(["notes"], "last")
        assert item is not None and item["value"] == {"text": "by cron"}
        assert await bob.store.get_item(["notes"], "last") is None
