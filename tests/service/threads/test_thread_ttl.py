"""Thread time-to-live: `ttl` on create and update, `checkpointer.ttl`'s default, and the
sweeper (deleting, or keeping the latest checkpoints), on SQLite and PostgreSQL. Sweeps run
with a clock of the test's own, so nothing waits for time to pass."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.service.live_server import LiveServer, StartServer
from threadloom.service.errors import ConfigurationError
from threadloom.service.http.deps import Services
from threadloom.service.schemas.bounds import MAX_TTL_MINUTES
from threadloom.service.storage.records import utc_now
from threadloom.service.threads.ttl_sweeper import ThreadSweeper

ASK = {"messages": [{"role": "user", "content": "what is 6 * 7?"}]}


@pytest.fixture
async def http(each_backend: LiveServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=each_backend.url, timeout=30) as client:
        yield client


def services_of(server: LiveServer) -> Services:
    return server.app.state.services


def sweeper_of(server: LiveServer) -> ThreadSweeper:
    """A sweeper on the server's database, as another replica would have."""
    services = services_of(server)
    return ThreadSweeper(services.threads.ttls, services.checkpointer, limit=1000)


def later(minutes: float) -> datetime:
    return utc_now() + timedelta(minutes=minutes)


async def new_thread(http: httpx.AsyncClient, **body: Any) -> str:
    response = await http.post("/threads", json=body)
    assert response.status_code == 200, response.text
    return response.json()["thread_id"]


async def answer(http: httpx.AsyncClient, thread_id: str) -> None:
    response = await http.post(
        f"/threads/{thread_id}/runs/wait", json={"assistant_id": "agent", "input": ASK}
    )
    assert response.status_code == 200, response.text


async def history_length(http: httpx.AsyncClient, thread_id: str) -> int:
    response = await http.post(f"/threads/{thread_id}/history", json={"limit": 100})
    assert response.status_code == 200, response.text
    return len(response.json())


async def test_an_expired_thread_is_deleted_with_its_runs_and_checkpoints(
    http: httpx.AsyncClient, each_backend: LiveServer
) -> None:
    doomed = await new_thread(http, ttl={"strategy": "delete", "ttl": 1})
    kept = await new_thread(http)
    await answer(http, doomed)
    await answer(http, kept)
    shown = (await http.get(f"/threads/{doomed}", params={"include": "ttl"})).json()
    assert shown["ttl"]["strategy"] == "delete" and shown["ttl"]["ttl_minutes"] == 1
    assert "ttl" not in (await http.get(f"/threads/{doomed}")).json()

    sweeper = sweeper_of(each_backend)
    assert (await sweeper.sweep(later(0.5))).deleted == 0  # not expired yet
    assert (await http.get(f"/threads/{doomed}")).status_code == 200
    assert (await sweeper.sweep(later(2))).deleted == 1

    assert (await http.get(f"/threads/{doomed}")).status_code == 404
    checkpointer = services_of(each_backend).checkpointer
    assert await checkpointer.aget_tuple({"configurable": {"thread_id": doomed}}) is None
    assert (await http.get(f"/threads/{kept}")).status_code == 200
    assert await history_length(http, kept) > 0
    assert (await sweeper.sweep(later(60))).deleted == 0  # nothing left to sweep


async def test_keep_latest_prunes_history_and_keeps_the_thread_and_its_state(
    http: httpx.AsyncClient, each_backend: LiveServer
) -> None:
    thread_id = await new_thread(http, ttl={"strategy": "keep_latest", "ttl": 5})
    await answer(http, thread_id)
    await answer(http, thread_id)
    values = (await http.get(f"/threads/{thread_id}/state")).json()["values"]
    assert await history_length(http, thread_id) > 2

    result = await sweeper_of(each_backend).sweep(later(10))

    assert (result.deleted, result.pruned) == (0, 1)
    assert await history_length(http, thread_id) == 1
    assert (await http.get(f"/threads/{thread_id}/state")).json()["values"] == values
    # The TTL counts again from the sweep: not swept again before it runs out once more.
    assert (await sweeper_of(each_backend).sweep(later(12))).pruned == 0


async def test_activity_renews_the_ttl_and_patch_replaces_it(
    http: httpx.AsyncClient, each_backend: LiveServer
) -> None:
    thread_id = await new_thread(http, ttl={"ttl": 10})
    ttls = services_of(each_backend).threads.ttls
    first = await ttls.get(thread_id)
    assert first is not None and first.strategy == "delete"

    await answer(http, thread_id)  # a run starting on it renews the TTL
    renewed = await ttls.get(thread_id)
    assert renewed is not None and renewed.expires_at > first.expires_at

    patched = await http.patch(
        f"/threads/{thread_id}", json={"ttl": {"strategy": "keep_latest", "ttl": 60}}
    )
    assert patched.status_code == 200, patched.text
    now_ttl = await ttls.get(thread_id)
    assert now_ttl is not None and (now_ttl.strategy, now_ttl.ttl_minutes) == ("keep_latest", 60)
    assert (await sweeper_of(each_backend).sweep(later(30))).pruned == 0


async def test_a_thread_with_a_pending_run_is_not_swept(
    http: httpx.AsyncClient, each_backend: LiveServer
) -> None:
    thread_id = await new_thread(http, ttl={"ttl": 1})
    # A run that waits an hour before it starts keeps the thread in use.
    run = await http.post(
        f"/threads/{thread_id}/runs",
        json={"assistant_id": "agent", "input": ASK, "after_seconds": 3600},
    )
    assert run.status_code == 200, run.text

    assert (await sweeper_of(each_backend).sweep(later(120))).deleted == 0
    assert (await http.get(f"/threads/{thread_id}")).status_code == 200
    cancel = await http.post(
        f"/threads/{thread_id}/runs/{run.json()['run_id']}/cancel", params={"wait": "true"}
    )
    assert cancel.status_code in (200, 202, 204), cancel.text


async def test_replicas_sweeping_together_delete_each_thread_once(
    http: httpx.AsyncClient, each_backend: LiveServer
) -> None:
    thread_ids = [await new_thread(http, ttl={"ttl": 1}) for _ in range(12)]
    sweepers = [sweeper_of(each_backend) for _ in range(3)]
    moment = later(5)

    results = await asyncio.gather(*(sweeper.sweep(moment) for sweeper in sweepers))

    assert sum(result.deleted for result in results) == len(thread_ids)
    for thread_id in thread_ids:
        assert (await http.get(f"/threads/{thread_id}")).status_code == 404


async def test_a_claim_is_one_replicas_and_activity_after_it_saves_the_thread(
    http: httpx.AsyncClient, each_backend: LiveServer
) -> None:
    thread_id = await new_thread(http, ttl={"ttl": 1})
    ttls = services_of(each_backend).threads.ttls
    moment = later(5).timestamp()

    claims = await ttls.claim_expired(moment, claim_s=300, limit=10)
    assert [claim.thread_id for claim in claims] == [thread_id]
    assert await ttls.claim_expired(moment, claim_s=300, limit=10) == []  # already claimed

    await ttls.renew(thread_id, moment)  # a run started after the claim
    assert not await ttls.delete_claimed(claims[0])
    assert (await http.get(f"/threads/{thread_id}")).status_code == 200


async def test_the_configured_default_ttl_applies_to_new_threads(
    storage_settings: dict[str, Any], start: StartServer
) -> None:
    server = await start(
        **storage_settings, checkpointer_ttl={"strategy": "delete", "default_ttl": 30}
    )
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
        made = await new_thread(http)
        by_run = "6b7f3c1e-3f0a-4f5e-9d51-0a1b2c3d4e5f"
        response = await http.post(
            f"/threads/{by_run}/runs/wait",
            json={"assistant_id": "agent", "input": ASK, "if_not_exists": "create"},
        )
        assert response.status_code == 200, response.text
        own = await new_thread(http, ttl={"strategy": "keep_latest", "ttl": 90})

        ttls = services_of(server).threads.ttls
        for thread_id in (made, by_run):
            ttl = await ttls.get(thread_id)
            assert ttl is not None and (ttl.strategy, ttl.ttl_minutes) == ("delete", 30)
        mine = await ttls.get(own)
        assert mine is not None and mine.ttl_minutes == 90
        assert (await sweeper_of(server).sweep(later(45))).deleted == 2


@pytest.mark.parametrize(
    "ttl",
    [
        {"ttl": -1},
        {"ttl": 0},
        {"strategy": "forget", "ttl": 5},
        {"strategy": "delete"},
        5,
        {"ttl": MAX_TTL_MINUTES + 1},
        {"ttl": 1e18},
        {"ttl": 1e308},
    ],
)
async def test_an_invalid_ttl_is_422_and_creates_nothing(
    client: httpx.AsyncClient, ttl: Any
) -> None:
    response = await client.post("/threads", json={"ttl": ttl, "metadata": {"mark": "bad-ttl"}})
    assert response.status_code == 422, response.text
    count = await client.post("/threads/count", json={"metadata": {"mark": "bad-ttl"}})
    assert count.json() == 0


@pytest.mark.parametrize("ttl", [1e18, 1e308])
async def test_a_ttl_past_the_maximum_is_refused_naming_it_on_create_and_update(
    client: httpx.AsyncClient, ttl: float
) -> None:
    """It was accepted, and then reading the thread with `include=ttl` answered 500."""
    created = await client.post("/threads", json={"ttl": {"ttl": ttl}})
    assert created.status_code == 422 and str(int(MAX_TTL_MINUTES)) in created.text, created.text
    thread = (await client.post("/threads", json={"ttl": {"ttl": MAX_TTL_MINUTES}})).json()
    patched = await client.patch(f"/threads/{thread['thread_id']}", json={"ttl": {"ttl": ttl}})
    assert patched.status_code == 422 and str(int(MAX_TTL_MINUTES)) in patched.text, patched.text
    read = await client.get(f"/threads/{thread['thread_id']}", params={"include": "ttl"})
    assert read.status_code == 200 and read.json()["ttl"]["ttl_minutes"] == MAX_TTL_MINUTES


@pytest.mark.parametrize(
    "setting", [{"strategy": "forget"}, {"default_ttl": -5}, {"sweep_interval_minutes": 0}]
)
async def test_an_invalid_checkpointer_ttl_refuses_to_start(
    start: StartServer, setting: dict[str, Any]
) -> None:
    with pytest.raises(ConfigurationError, match=r"checkpointer\.ttl"):
        await start(checkpointer_ttl=setting)
