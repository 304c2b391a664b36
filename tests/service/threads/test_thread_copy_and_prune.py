"""Copying a thread with its checkpoint history, and pruning threads (`delete`, `keep_latest`),
through `langgraph_sdk`. What each checkpointer does its own way runs on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from langgraph_sdk import get_client
from langgraph_sdk.client import LangGraphClient
from langgraph_sdk.errors import NotFoundError

from tests.service.live_server import LiveServer, StartServer

MISSING = "00000000-0000-4000-8000-000000000000"
KEYS = "alice:key-of-alice,bob:key-of-bob"


def ask(text: str) -> dict[str, Any]:
    return {"messages": [{"role": "user", "content": text}]}


@pytest.fixture
async def each_sdk(each_backend: LiveServer) -> AsyncIterator[LangGraphClient]:
    """The SDK's client of a server on SQLite, then of one on PostgreSQL."""
    async with get_client(url=each_backend.url) as sdk:
        yield sdk


async def answered_thread(sdk: LangGraphClient, **metadata: Any) -> str:
    thread_id = (await sdk.threads.create(metadata=metadata))["thread_id"]
    await sdk.runs.wait(thread_id, "agent", input=ask("what is 6 * 7?"))
    return thread_id


async def checkpoint_ids(sdk: LangGraphClient, thread_id: str) -> list[str]:
    history = await sdk.threads.get_history(thread_id, limit=100)
    return [state["checkpoint"]["checkpoint_id"] for state in history]


async def test_a_copy_has_the_metadata_state_and_history_and_goes_its_own_way(
    each_sdk: LangGraphClient,
) -> None:
    sdk = each_sdk
    source = await answered_thread(sdk, user="ada")
    source_history = await sdk.threads.get_history(source, limit=100)

    copy = await sdk.threads.copy(source)
    copy_id = copy["thread_id"]
    copy_history = await sdk.threads.get_history(copy_id, limit=100)

    assert copy_id != source and copy["status"] == "idle"
    assert copy["metadata"] == (await sdk.threads.get(source))["metadata"]
    assert copy["metadata"]["user"] == "ada"
    assert copy["values"] == source_history[0]["values"]
    assert [s["checkpoint"]["checkpoint_id"] for s in copy_history] == await checkpoint_ids(
        sdk, source
    )
    assert [s["values"] for s in copy_history] == [s["values"] for s in source_history]
    assert {s["checkpoint"]["thread_id"] for s in copy_history} == {copy_id}
    assert await sdk.runs.list(copy_id) == []

    await sdk.runs.wait(copy_id, "agent", input=ask("what is 2 + 3?"))
    assert len(await checkpoint_ids(sdk, copy_id)) > len(copy_history)
    assert len(await checkpoint_ids(sdk, source)) == len(source_history)


async def test_a_copy_of_an_interrupted_thread_resumes_on_its_own(
    each_sdk: LangGraphClient,
) -> None:
    sdk = each_sdk
    source = (await sdk.threads.create())["thread_id"]
    await sdk.runs.wait(source, "agent", input=ask("what is 6 * 7?"), interrupt_before=["tools"])

    copy = await sdk.threads.copy(source)
    resumed = await sdk.runs.wait(copy["thread_id"], "agent", input=None)

    assert copy["status"] == "interrupted"
    assert resumed["messages"][-1]["content"] == "The answer is 42."
    assert (await sdk.threads.get_state(source))["next"] == ["tools"]


async def test_copying_an_unknown_thread_answers_404_and_makes_none(
    sdk: LangGraphClient, client: httpx.AsyncClient
) -> None:
    with pytest.raises(NotFoundError):
        await sdk.threads.copy(MISSING)
    assert (await client.post("/threads/not-a-uuid/copy")).status_code == 422
    assert await sdk.threads.count() == 0


async def test_prune_delete_removes_threads_and_their_checkpoints(sdk: LangGraphClient) -> None:
    first, second, kept = [await answered_thread(sdk) for _ in range(3)]

    result = await sdk.threads.prune([first, second, MISSING, first])

    assert result == {"pruned_count": 2}
    assert [t["thread_id"] for t in await sdk.threads.search()] == [kept]
    for gone in (first, second):
        with pytest.raises(NotFoundError):
            await sdk.threads.get_state(gone)
    assert await sdk.threads.prune([]) == {"pruned_count": 0}


async def test_prune_keep_latest_keeps_only_the_latest_state(
    each_sdk: LangGraphClient,
) -> None:
    sdk = each_sdk
    pruned, untouched = await answered_thread(sdk), await answered_thread(sdk)
    await sdk.runs.wait(pruned, "agent", input=ask("what is 2 + 3?"))
    before = await sdk.threads.get_state(pruned)
    untouched_history = await sdk.threads.get_history(untouched, limit=100)

    result = await sdk.threads.prune([pruned, MISSING], strategy="keep_latest")

    (only,) = await sdk.threads.get_history(pruned, limit=100)
    assert result == {"pruned_count": 1}
    assert only["checkpoint"] == before["checkpoint"] and only["values"] == before["values"]
    assert (await sdk.threads.get(pruned))["values"] == before["values"]
    assert await sdk.threads.get_history(untouched, limit=100) == untouched_history
    after = await sdk.runs.wait(pruned, "agent", input=ask("what is 3 + 3?"))
    assert after["messages"][-1]["content"] == "The answer is 6."


async def test_another_owners_threads_are_neither_copied_nor_pruned(start: StartServer) -> None:
    server = await start(api_keys=KEYS)
    async with (
        get_client(url=server.url, api_key="key-of-alice") as alice,
        get_client(url=server.url, api_key="key-of-bob") as bob,
    ):
        thread_id = await answered_thread(alice)
        history = await checkpoint_ids(alice, thread_id)

        with pytest.raises(NotFoundError):
            await bob.threads.copy(thread_id)
        assert await bob.threads.prune([thread_id]) == {"pruned_count": 0}
        assert await bob.threads.prune([thread_id], strategy="keep_latest") == {"pruned_count": 0}

        assert await bob.threads.count() == 0 and await alice.threads.count() == 1
        assert await checkpoint_ids(alice, thread_id) == history


@pytest.mark.parametrize(
    "body",
    [
        lambda thread_id: {"thread_ids": [thread_id, "not-a-uuid"]},
        lambda thread_id: {"thread_ids": [thread_id], "strategy": "everything"},
        lambda thread_id: {"strategy": "delete"},
        lambda thread_id: {"thread_ids": thread_id},
    ],
    ids=["bad-id", "bad-strategy", "no-ids", "ids-not-a-list"],
)
async def test_a_bad_prune_is_refused_and_prunes_nothing(
    sdk: LangGraphClient,
    client: httpx.AsyncClient,
    body: Callable[[str], dict[str, Any]],
) -> None:
    thread_id = await answered_thread(sdk)
    history = await checkpoint_ids(sdk, thread_id)

    response = await client.post("/threads/prune", json=body(thread_id))

    assert response.status_code == 422, response.text
    assert await checkpoint_ids(sdk, thread_id) == history
