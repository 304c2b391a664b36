"""An auth policy's filters as SQL: every operator LangGraph defines selects the same threads on
SQLite and PostgreSQL; a filter LangGraph does not define is refused before any row is read."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from threadloom.service.ids import new_id
from threadloom.service.settings import Settings
from threadloom.service.storage.backends import Storage, open_storage
from threadloom.service.storage.owners import scope_to_policy
from threadloom.service.storage.policy_filters import PolicyError, stamped
from threadloom.service.storage.records import ThreadQuery

METADATA = {
    "alice": {"owner": "alice", "tags": ["a", "b"], "level": 2},
    "bob": {"owner": "bob", "tags": ["b"], "level": 3},
    "scalar": {"owner": "carol", "tags": "a"},  # a string, not a list holding "a"
    "nested": {"owner": {"name": "alice"}, "tags": [{"k": 1}]},
}


@pytest.fixture
async def storage(storage_settings: dict[str, Any]) -> AsyncIterator[Storage]:
    async with open_storage(Settings(**storage_settings)) as opened:
        yield opened


@pytest.fixture
async def names(storage: Storage) -> dict[str, str]:
    """Each thread's id, by its name in METADATA."""
    ids = {}
    for name, metadata in METADATA.items():
        ids[name] = new_id()
        await storage.threads.create(ids[name], metadata)
    return ids


CASES: list[tuple[dict[str, Any], set[str]]] = [
    ({"owner": "alice"}, {"alice"}),
    ({"owner": {"$eq": "bob"}}, {"bob"}),
    ({"owner": {"name": "alice"}}, {"nested"}),
    ({"tags": {"$contains": "a"}}, {"alice"}),
    ({"tags": {"$contains": ["a", "b"]}}, {"alice"}),
    ({"tags": {"$contains": "b"}, "level": 3}, {"bob"}),
    ({"tags": {"$contains": {"k": 1}}}, {"nested"}),
    ({"$or": [{"owner": "alice"}, {"owner": "carol"}]}, {"alice", "scalar"}),
    ({"$and": [{"tags": {"$contains": "b"}}, {"level": {"$eq": 2}}]}, {"alice"}),
    ({"$or": [{"level": 3}, {"$and": [{"owner": "carol"}, {"tags": "a"}]}]}, {"bob", "scalar"}),
    ({"missing": "x"}, set()),
]
UNDEFINED = [
    {"owner": {"$ne": "alice"}},
    {"$not": {"owner": "alice"}},
    {"$or": [{"owner": "alice"}]},
    {"$or": [{"$or": [{"$or": [{"a": 1}, {"b": 2}]}, {"c": 3}]}, {"d": 4}]},
]


async def test_filters_select_the_same_threads_on_both_backends(
    storage: Storage, names: dict[str, str]
) -> None:
    by_id = {thread_id: name for name, thread_id in names.items()}
    for filters, expected in CASES:
        scope_to_policy("threads", filters)
        found = await storage.threads.search(ThreadQuery(limit=100))
        assert {by_id[thread.thread_id] for thread in found} == expected, filters
        assert await storage.threads.count(ThreadQuery()) == len(expected), filters
        for name, thread_id in names.items():
            visible = await storage.threads.get(thread_id) is not None
            assert visible == (name in expected), (filters, name)


async def test_a_filter_langgraph_does_not_define_is_refused(
    storage: Storage, names: dict[str, str]
) -> None:
    for filters in UNDEFINED:
        scope_to_policy("threads", filters)
        with pytest.raises(PolicyError) as refused:
            await storage.threads.search(ThreadQuery(limit=100))
        assert refused.value.status_code == 500
        assert "auth policy" in refused.value.detail


async def test_a_new_thread_is_stamped_with_the_filters_equalities(storage: Storage) -> None:
    scope_to_policy("threads", {"owner": "alice", "team": {"$eq": "x"}})
    thread = await storage.threads.create(new_id(), {"owner": "mallory", "topic": "t"})
    assert thread is not None
    assert thread.metadata == {"owner": "alice", "team": "x", "topic": "t"}
    assert stamped({"a": 1}, None) == {"a": 1}
