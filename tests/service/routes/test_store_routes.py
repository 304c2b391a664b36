"""The Store API through `langgraph_sdk`: put, get, search, list namespaces, delete, TTLs and
per-owner stores. What runs SQL that differs between the databases runs on both."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from langgraph_sdk import get_client
from langgraph_sdk.client import LangGraphClient

from tests.service.live_server import LiveServer, StartServer
from threadloom.service.storage import store_items
from threadloom.service.storage.records import utc_now

KEYS = "alice:key-of-alice,bob:key-of-bob"


@pytest.fixture
async def sdk(each_backend: LiveServer) -> AsyncIterator[LangGraphClient]:
    """Here, the SDK's client of a server on each backend."""
    async with get_client(url=each_backend.url) as client:
        yield client


def keys(found: dict[str, Any]) -> list[tuple[tuple[str, ...], str]]:
    return [(tuple(item["namespace"]), item["key"]) for item in found["items"]]


async def test_put_get_replace_and_delete_an_item(sdk: LangGraphClient) -> None:
    await sdk.store.put_item(["users", "ada"], "prefs", {"theme": "dark"})
    first = await sdk.store.get_item(["users", "ada"], "prefs")
    await sdk.store.put_item(["users", "ada"], "prefs", {"theme": "light"})
    second = await sdk.store.get_item(["users", "ada"], "prefs")

    assert first is not None and second is not None
    assert first["namespace"] == ["users", "ada"] and first["key"] == "prefs"
    assert first["value"] == {"theme": "dark"} and second["value"] == {"theme": "light"}
    assert second["created_at"] == first["created_at"]
    assert second["updated_at"] > first["updated_at"]
    assert await sdk.store.get_item(["users", "ada"], "other") is None
    assert await sdk.store.get_item(["users"], "prefs") is None

    await sdk.store.delete_item(["users", "ada"], "prefs")
    await sdk.store.delete_item(["users", "ada"], "prefs")  # gone already: no error
    assert await sdk.store.get_item(["users", "ada"], "prefs") is None


async def test_search_by_prefix_filter_query_and_page(sdk: LangGraphClient) -> None:
    await sdk.store.put_item(["docs", "ada"], "a", {"kind": "note", "text": "Tea at five"})
    await sdk.store.put_item(["docs", "ada", "old"], "b", {"kind": "note", "text": "coffee"})
    await sdk.store.put_item(["docs", "bob"], "c", {"kind": "todo", "text": "Buy tea"})
    await sdk.store.put_item(["docsx"], "d", {"kind": "note", "text": "tea"})

    everything = await sdk.store.search_items([], limit=10)
    under_ada = await sdk.store.search_items(["docs", "ada"])
    notes = await sdk.store.search_items(["docs"], filter={"kind": "note"})
    tea = await sdk.store.search_items(["docs"], query="TEA")
    tea_notes = await sdk.store.search_items(["docs"], query="tea five", filter={"kind": "note"})
    page = await sdk.store.search_items(["docs"], limit=1, offset=1)

    # Most recently updated first.
    assert keys(everything) == [(("docsx",), "d"), (("docs", "bob"), "c"), *keys(under_ada)]
    assert keys(under_ada) == [(("docs", "ada", "old"), "b"), (("docs", "ada"), "a")]
    assert keys(notes) == keys(under_ada)
    # Without an index a query is ignored, as on LangGraph Server.
    assert keys(tea) == keys(everything)[1:]
    assert keys(tea_notes) == keys(notes)
    assert keys(page) == [(("docs", "ada", "old"), "b")]
    assert tea["items"][0]["score"] is None and tea["items"][0]["value"]["text"] == "Buy tea"


async def test_list_namespaces_with_prefix_suffix_wildcards_and_depth(
    sdk: LangGraphClient,
) -> None:
    stored = [["a", "x", "1"], ["a", "y", "1"], ["a", "y", "2"], ["b", "x"]]
    for namespace in reversed(stored):
        await sdk.store.put_item(namespace, "k", {"n": 1})

    everything = await sdk.store.list_namespaces()
    under_a = await sdk.store.list_namespaces(prefix=["a"])
    any_then_x = await sdk.store.list_namespaces(prefix=["*", "x"])
    ending_in_1 = await sdk.store.list_namespaces(suffix=["1"])
    shallow = await sdk.store.list_namespaces(max_depth=1)
    page = await sdk.store.list_namespaces(limit=2, offset=1)

    assert everything["namespaces"] == stored  # in order
    assert under_a["namespaces"] == stored[:3]
    assert any_then_x["namespaces"] == [["a", "x", "1"], ["b", "x"]]
    assert ending_in_1["namespaces"] == [["a", "x", "1"], ["a", "y", "1"]]
    assert shallow["namespaces"] == [["a"], ["b"]]
    assert page["namespaces"] == [["a", "y", "1"], ["a", "y", "2"]]


async def test_an_item_expires_after_its_ttl_and_reading_it_renews_the_ttl(
    sdk: LangGraphClient, each_backend: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    await sdk.store.put_item(["ttl"], "brief", {"n": 1}, ttl=10)
    await sdk.store.put_item(["ttl"], "kept", {"n": 2})
    start = utc_now()

    def later(minutes: float) -> None:
        monkeypatch.setattr(store_items, "utc_now", lambda: start + timedelta(minutes=minutes))

    later(9)
    assert await sdk.store.get_item(["ttl"], "brief", refresh_ttl=False) is not None
    later(11)
    assert await sdk.store.get_item(["ttl"], "brief") is None
    assert keys(await sdk.store.search_items(["ttl"])) == [(("ttl",), "kept")]
    assert (await sdk.store.list_namespaces())["namespaces"] == [["ttl"]]

    later(20)
    await sdk.store.put_item(["ttl"], "brief", {"n": 1}, ttl=10)  # a new item: expired before
    later(29)
    renewed = await sdk.store.get_item(["ttl"], "brief")  # renewed: until 39 minutes
    assert renewed is not None and renewed["created_at"] == renewed["updated_at"]
    later(38)
    assert len((await sdk.store.search_items(["ttl"]))["items"]) == 2  # renewed: until 48
    later(47)
    assert await sdk.store.get_item(["ttl"], "brief") is not None
    later(100)
    assert await each_backend.app.state.services.store_items.delete_expired() == 1
    assert keys(await sdk.store.search_items(["ttl"])) == [(("ttl",), "kept")]


async def test_each_owner_has_a_store_of_its_own(start: StartServer) -> None:
    server = await start(api_keys=KEYS)
    async with (
        get_client(url=server.url, api_key="key-of-alice") as alice,
        get_client(url=server.url, api_key="key-of-bob") as bob,
    ):
        await alice.store.put_item(["notes"], "k", {"owner": "alice"})
        await bob.store.put_item(["notes"], "k", {"owner": "bob"})
        await alice.store.put_item(["private"], "k", {"owner": "alice"})
        await bob.store.delete_item(["private"], "k")

        alices = await alice.store.get_item(["notes"], "k")
        bobs = await bob.store.get_item(["notes"], "k")
        assert alices is not None and alices["value"] == {"owner": "alice"}
        assert bobs is not None and bobs["value"] == {"owner": "bob"}
        assert await bob.store.get_item(["private"], "k") is None
        assert await alice.store.get_item(["private"], "k") is not None
        assert len((await bob.store.search_items([]))["items"]) == 1
        assert (await bob.store.list_namespaces())["namespaces"] == [["notes"]]


@pytest.mark.parametrize(
    ("body", "status", "detail"),
    [
        ({"namespace": ["a.b"], "key": "k", "value": {}}, 422, "without periods"),
        ({"namespace": [""], "key": "k", "value": {}}, 422, "without periods"),
        ({"namespace": ["a"], "key": "k", "value": 3}, 422, "value"),
        ({"namespace": ["a"], "value": {}}, 422, "key"),
        ({"namespace": ["a"], "key": "k", "value": {}, "ttl": 0}, 422, "ttl"),
        ({"namespace": [], "key": "k", "value": {}}, 400, "cannot be empty"),
        ({"namespace": ["langgraph"], "key": "k", "value": {}}, 400, "langgraph"),
    ],
)
async def test_a_bad_put_is_refused_and_stores_nothing(
    client: httpx.AsyncClient, body: dict[str, Any], status: int, detail: str
) -> None:
    response = await client.put("/store/items", json=body)

    assert response.status_code == status and detail in response.json()["detail"]
    assert (await client.post("/store/items/search", json={})).json() == {"items": []}


async def test_bad_reads_searches_and_deletes_are_refused(
    client: httpx.AsyncClient,
) -> None:
    await client.put("/store/items", json={"namespace": ["a"], "key": "k", "value": {"n": 1}})

    no_key = await client.get("/store/items", params={"namespace": "a"})
    empty_label = await client.get("/store/items", params={"namespace": "a..b", "key": "k"})
    operator = await client.post("/store/items/search", json={"filter": {"n": {"$gt": 0}}})
    bad_limit = await client.post("/store/items/search", json={"limit": 0})
    bad_prefix = await client.post("/store/namespaces", json={"prefix": ["a.b"]})
    bad_delete = await client.request("DELETE", "/store/items", json={"namespace": ["a"]})

    assert no_key.status_code == 400 and no_key.json()["detail"] == "Key is required"
    assert empty_label.status_code == 422 and "without periods" in empty_label.json()["detail"]
    assert operator.status_code == 501 and "'$gt'" in operator.json()["detail"]
    assert bad_limit.status_code == 422 and bad_prefix.status_code == 422
    assert bad_delete.status_code == 422
    item = await client.get("/store/items", params={"namespace": "a", "key": "k"})
    assert item.json()["value"] == {"n": 1}
