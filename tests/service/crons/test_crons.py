"""Crons through `langgraph_sdk`: create, find, change and delete them; bad input refused with
nothing written; each owner's crons apart; due crons fired as runs, once across replicas.

Crons here are yearly (`0 9 1 1 *`), so the real clock never makes one due during a test: a test
fires one by ticking the scheduler at its due time, or by moving the scheduler's clock ahead.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from langgraph_sdk import get_client
from langgraph_sdk.client import LangGraphClient

from tests.service.live_server import LiveServer, StartServer
from threadloom.service.assistants import GRAPH_ID, Assistants, system_assistant_id
from threadloom.service.crons.schedule import check_interval, next_run
from threadloom.service.crons.scheduler import CronScheduler
from threadloom.service.errors import InvalidRequest
from threadloom.service.ids import new_id
from threadloom.service.runs.manager import ActiveRun
from threadloom.service.settings import Settings
from threadloom.service.storage.assistants import AssistantStore
from threadloom.service.storage.backends import open_storage
from threadloom.service.storage.crons import CronRecord, Crons

YEARLY = "0 9 1 1 *"
MISSING = "00000000-0000-0000-0000-000000000000"
DEADLINE_S = 20  # a bound on waiting, so a bug fails the test instead of hanging it
QUESTION = {"messages": [{"role": "user", "content": "what is 6 * 7?"}]}
KEYS = "alice:key-of-alice,bob:key-of-bob"


def scheduler_of(server: LiveServer) -> CronScheduler:
    return server.app.state.services.cron_jobs.scheduler


def due_at(cron: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(cron["next_run_date"])


async def status_of(call: Any) -> int:
    try:
        await call
    except httpx.HTTPStatusError as exc:
        return exc.response.status_code
    raise AssertionError("the call succeeded; an error status was expected")


async def ended(runs: list[ActiveRun]) -> list[str]:
    async with asyncio.timeout(DEADLINE_S):
        return [(await run.outcome()).status for run in runs]


@pytest.mark.parametrize(
    ("schedule", "min_interval_s", "allowed"),
    [
        ("*/1 * * * * *", 60, False),
        ("0,30 * * * * *", 60, False),
        ("0,1 * * * *", 120, False),  # its gaps vary: the shortest counts
        ("* * * * *", 60, True),
        ("*/1 * * * * *", 1, True),
        (YEARLY, 60, True),
    ],
)
def test_schedules_finer_than_the_minimum_interval_are_refused(
    schedule: str, min_interval_s: float, allowed: bool
) -> None:
    if allowed:
        check_interval(schedule, min_interval_s)
        return
    with pytest.raises(InvalidRequest, match="THREADLOOM_CRON_MIN_INTERVAL_S"):
        check_interval(schedule, min_interval_s)


def test_schedules_are_read_in_their_timezone_across_daylight_saving() -> None:
    winter, summer = datetime(2026, 1, 10, tzinfo=UTC), datetime(2026, 7, 10, tzinfo=UTC)
    assert next_run("0 9 * * *", winter, "Europe/Paris") == datetime(2026, 1, 10, 8, tzinfo=UTC)
    assert next_run("0 9 * * *", summer, "Europe/Paris") == datetime(2026, 7, 10, 7, tzinfo=UTC)
    assert next_run("0 9 * * *", summer, None) == datetime(2026, 7, 10, 9, tzinfo=UTC)
    assert next_run("0 0 1 1 * 0 2020", summer, None) is None  # its only year is past


async def test_crons_are_created_found_changed_and_deleted(each_backend: LiveServer) -> None:
    async with get_client(url=each_backend.url) as sdk:
        thread_id = (await sdk.threads.create())["thread_id"]
        on_thread = await sdk.crons.create_for_thread(
            thread_id,
            "agent",
            schedule="0 9 * * *",
            timezone="Europe/Paris",
            input=QUESTION,
            metadata={"team": "a"},
            end_time=datetime(2099, 1, 1, tzinfo=UTC),
            multitask_strategy="reject",
        )
        stateless = await sdk.crons.create("agent", schedule=YEARLY, on_run_completed="keep")

        assert on_thread["thread_id"] == thread_id and on_thread["on_run_completed"] is None
        assert on_thread["assistant_id"] == stateless["assistant_id"] != "agent"
        paris = due_at(on_thread).astimezone(ZoneInfo("Europe/Paris"))
        assert (paris.hour, paris.minute) == (9, 0) and due_at(on_thread) > datetime.now(UTC)
        assert on_thread["end_time"] == "2099-01-01T00:00:00+00:00"
        assert on_thread["metadata"] == {"team": "a"} and on_thread["enabled"] is True
        payload = on_thread["payload"]
        assert payload["input"] == QUESTION and payload["multitask_strategy"] == "reject"
        assert payload["config"]["configurable"]["cron_id"] == on_thread["cron_id"]
        assert stateless["thread_id"] is None and stateless["on_run_completed"] == "keep"

        found = await sdk.crons.search()
        assert [c["cron_id"] for c in found] == [stateless["cron_id"], on_thread["cron_id"]]
        assert found[1] == on_thread
        by_thread = await sdk.crons.search(thread_id=thread_id)
        assert [c["cron_id"] for c in by_thread] == [on_thread["cron_id"]]
        assert await sdk.crons.search(metadata={"team": "b"}) == []
        assert len(await sdk.crons.search(assistant_id="agent", limit=1)) == 1
        oldest = await sdk.crons.search(sort_by="created_at", sort_order="asc", limit=1)
        assert [c["cron_id"] for c in oldest] == [on_thread["cron_id"]]
        by_end = await sdk.crons.search(sort_by="end_time", sort_order="desc")
        assert [c["cron_id"] for c in by_end] == [on_thread["cron_id"], stateless["cron_id"]]
        picked = await sdk.crons.search(select=["cron_id", "schedule"], offset=1)
        assert picked == [{"cron_id": on_thread["cron_id"], "schedule": "0 9 * * *"}]
        assert await sdk.crons.count() == 2
        assert await sdk.crons.count(thread_id=thread_id, metadata={"team": "a"}) == 1

        changed = await sdk.crons.update(
            on_thread["cron_id"],
            schedule="30 10 * * *",
            enabled=False,
            metadata={"changed": True},
            end_time=None,
        )
        assert changed["schedule"] == "30 10 * * *" and changed["enabled"] is False
        assert changed["metadata"] == {"team": "a", "changed": True}
        assert changed["end_time"] is None and changed["updated_at"] > changed["created_at"]
        paris = due_at(changed).astimezone(ZoneInfo("Europe/Paris"))
        assert (paris.hour, paris.minute) == (10, 30)
        assert changed["payload"]["input"] == QUESTION
        assert changed["payload"]["config"]["configurable"]["cron_id"] == on_thread["cron_id"]
        disabled = await sdk.crons.search(enabled=False)
        assert [c["cron_id"] for c in disabled] == [on_thread["cron_id"]]

        await sdk.crons.delete(stateless["cron_id"])
        assert await status_of(sdk.crons.delete(stateless["cron_id"])) == 404
        await sdk.threads.delete(thread_id)  # its crons go with it
        assert await sdk.crons.count() == 0


async def test_bad_input_is_refused_and_writes_nothing(sdk: LangGraphClient) -> None:
    thread_id = (await sdk.threads.create())["thread_id"]
    cron = await sdk.crons.create("agent", schedule=YEARLY)
    refusals = [
        (sdk.crons.create("agent", schedule="not a schedule"), 422),
        (sdk.crons.create("agent", schedule="0 0 31 2 *"), 422),  # never fires
        (sdk.crons.create("agent", schedule="*/1 * * * * *"), 422),  # every second
        (sdk.crons.create("agent", schedule=YEARLY, timezone="Mars/Base"), 422),
        (sdk.crons.create("nope", schedule=YEARLY), 404),
        (sdk.crons.create(MISSING, schedule=YEARLY), 404),
        (sdk.crons.create("agent", schedule=YEARLY, stream_mode="bogus"), 422),
        (sdk.crons.create("agent", schedule=YEARLY, webhook="http://127.0.0.1:9/hook"), 422),
        (
            sdk.crons.create(
                "agent", schedule=YEARLY, config={"configurable": {"a": 1}}, context={"b": 2}
            ),
            400,
        ),
        (sdk.crons.create_for_thread(MISSING, "agent", schedule=YEARLY), 404),
        (sdk.crons.create_for_thread("not-a-uuid", "agent", schedule=YEARLY), 422),
        (sdk.crons.update(MISSING, enabled=False), 404),
        (sdk.crons.update("not-a-uuid", enabled=False), 422),
        (sdk.crons.update(cron["cron_id"], schedule="61 * * * *"), 422),
        (sdk.crons.update(cron["cron_id"], schedule="*/30 * * * * *"), 422),
        (sdk.crons.update(cron["cron_id"], timezone="Mars/Base"), 422),
        (sdk.crons.update(cron["cron_id"]), 400),  # nothing to change
        (sdk.crons.delete(MISSING), 404),
        (sdk.crons.search(thread_id="not-a-uuid"), 422),
        (sdk.crons.search(sort_by="schedule"), 422),
        (sdk.crons.count(assistant_id="nope"), 422),
    ]
    for call, expected in refusals:
        assert await status_of(call) == expected, call
    missing_schedule = await sdk.http.client.post("/runs/crons", json={"assistant_id": "agent"})
    assert missing_schedule.status_code == 422
    assert "schedule" in missing_schedule.json()["detail"]

    assert await sdk.crons.search() == [cron]
    assert await sdk.threads.search() == [await sdk.threads.get(thread_id)]


async def test_a_due_thread_cron_runs_on_its_thread_and_comes_again(
    server: LiveServer, sdk: LangGraphClient
) -> None:
    thread_id = (await sdk.threads.create())["thread_id"]
    cron = await sdk.crons.create_for_thread(
        thread_id, "agent", schedule=YEARLY, input=QUESTION, metadata={"from": "cron"}
    )
    scheduler = scheduler_of(server)

    assert await scheduler.tick(due_at(cron) - timedelta(seconds=1)) == []
    fired = await scheduler.tick(due_at(cron))
    assert await ended(fired) == ["success"]
    assert await scheduler.tick(due_at(cron)) == []  # moved on to next year

    (run,) = await sdk.runs.list(thread_id)
    assert run["run_id"] == fired[0].run_id and run["metadata"]["from"] == "cron"
    assert run["kwargs"]["config"]["configurable"]["cron_id"] == cron["cron_id"]
    state = await sdk.threads.get_state(thread_id)
    assert state["values"]["messages"][-1]["content"] == "The answer is 42."
    moved = await sdk.crons.search()
    assert due_at(moved[0]) == due_at(cron).replace(year=due_at(cron).year + 1)


async def test_a_cron_without_thread_runs_on_a_new_thread_deleted_or_kept(
    server: LiveServer, sdk: LangGraphClient
) -> None:
    deleting = await sdk.crons.create("agent", schedule=YEARLY, input=QUESTION)
    keeping = await sdk.crons.create(
        "agent", schedule=YEARLY, input=QUESTION, on_run_completed="keep"
    )
    assert deleting["on_run_completed"] == "delete"

    fired = await scheduler_of(server).tick(due_at(keeping))
    assert await ended(fired) == ["success", "success"]

    threads = {run.spec.request.on_completion: run.thread_id for run in fired}
    assert threads["delete"] != threads["keep"]
    (kept,) = await sdk.threads.search()
    assert kept["thread_id"] == threads["keep"]
    assert kept["values"]["messages"][-1]["content"] == "The answer is 42."


async def test_disabled_and_ended_crons_do_not_fire(
    server: LiveServer, sdk: LangGraphClient
) -> None:
    disabled = await sdk.crons.create("agent", schedule=YEARLY, input=QUESTION, enabled=False)
    soon = datetime.now(UTC) + timedelta(days=1)
    await sdk.crons.create("agent", schedule=YEARLY, input=QUESTION, end_time=soon)
    scheduler = scheduler_of(server)

    assert await scheduler.tick(due_at(disabled)) == []
    await sdk.crons.update(disabled["cron_id"], enabled=True)
    assert await ended(await scheduler.tick(due_at(disabled))) == ["success"]


async def test_the_scheduler_fires_a_cron_when_its_clock_reaches_it(
    server: LiveServer, sdk: LangGraphClient
) -> None:
    scheduler = scheduler_of(server)
    fired: asyncio.Queue[tuple[CronRecord, ActiveRun]] = asyncio.Queue()
    scheduler.on_fired = lambda cron, run: fired.put_nowait((cron, run))
    scheduler.clock = lambda: datetime.now(UTC) + timedelta(days=400)  # past any yearly cron

    thread_id = (await sdk.threads.create())["thread_id"]
    cron = await sdk.crons.create_for_thread(thread_id, "agent", schedule=YEARLY, input=QUESTION)
    async with asyncio.timeout(DEADLINE_S):
        record, run = await fired.get()  # the create woke the scheduler

    assert (record.cron_id, run.thread_id) == (cron["cron_id"], thread_id)
    assert await ended([run]) == ["success"]
    assert fired.empty()


async def test_each_owner_sees_and_changes_only_its_own_crons(
    storage_settings: dict[str, Any], start: StartServer
) -> None:
    server = await start(api_keys=KEYS, **storage_settings)
    alice = get_client(url=server.url, api_key="key-of-alice")
    bob = get_client(url=server.url, api_key="key-of-bob")
    thread_id = (await alice.threads.create())["thread_id"]
    assistant_id = (await alice.assistants.create("agent"))["assistant_id"]
    on_thread = await alice.crons.create_for_thread(
        thread_id, assistant_id, schedule=YEARLY, input=QUESTION
    )
    keeping = await alice.crons.create(
        "agent", schedule=YEARLY, input=QUESTION, on_run_completed="keep"
    )
    bobs = await bob.crons.create("agent", schedule=YEARLY, input=QUESTION)

    cron_id = on_thread["cron_id"]
    assert on_thread["user_id"] == "alice" and bobs["user_id"] == "bob"
    for call in (
        bob.crons.update(cron_id, enabled=False),
        bob.crons.delete(cron_id),
        bob.http.get(f"/runs/crons/{cron_id}"),
        bob.crons.create_for_thread(thread_id, "agent", schedule=YEARLY),
        bob.crons.create(assistant_id, schedule=YEARLY),
    ):
        assert await status_of(call) == 404
    assert [c["cron_id"] for c in await bob.crons.search()] == [bobs["cron_id"]]
    assert await bob.crons.count() == 1
    assert await bob.crons.count(thread_id=thread_id) == 0
    assert await alice.crons.count() == 2
    assert (await alice.http.get(f"/runs/crons/{cron_id}"))["enabled"] is True

    # Alice's cron runs as alice: the thread it keeps is hers alone.
    fired = await scheduler_of(server).tick(due_at(keeping))
    assert await ended(fired) == ["success"] * 3
    kept = {t["thread_id"] for t in await alice.threads.search()} - {thread_id}
    assert len(kept) == 1 and await bob.threads.search() == []

    await alice.assistants.delete(assistant_id)  # its crons go with it
    assert [c["cron_id"] for c in await alice.crons.search()] == [keeping["cron_id"]]


@pytest.mark.postgres
async def test_two_schedulers_on_one_database_fire_a_due_cron_once(
    postgres_url: str, start: StartServer, tmp_path: Any
) -> None:
    replicas = [
        await start(db=tmp_path / f"{name}.sqlite", database_url=postgres_url, replica_id=name)
        for name in ("a", "b")
    ]
    async with get_client(url=replicas[0].url) as sdk:
        cron = await sdk.crons.create("agent", schedule=YEARLY, input=QUESTION)
        at = due_at(cron)
        fired = await asyncio.gather(*(scheduler_of(r).tick(at) for r in replicas))
        assert sorted(len(runs) for runs in fired) == [0, 1]
        assert await ended([*fired[0], *fired[1]]) == ["success"]
        # Later the cron is due again, and fires again, once.
        again = due_at((await sdk.crons.search())[0])
        fired = await asyncio.gather(*(scheduler_of(r).tick(again) for r in reversed(replicas)))
        assert sorted(len(runs) for runs in fired) == [0, 1]
        assert await ended([*fired[0], *fired[1]]) == ["success"]


@pytest.mark.postgres
async def test_of_two_replicas_that_read_a_due_cron_only_one_claims_it(postgres_url: str) -> None:
    settings = Settings(database_url=postgres_url)
    async with open_storage(settings) as here, open_storage(settings) as there:
        await Assistants(AssistantStore(here.database), [GRAPH_ID]).install()
        now = datetime.now(UTC)
        cron = CronRecord(
            cron_id=new_id(),
            assistant_id=system_assistant_id(GRAPH_ID),
            thread_id=None,
            schedule=YEARLY,
            timezone=None,
            end_time=None,
            next_run_date=now,
            payload={"assistant_id": system_assistant_id(GRAPH_ID)},
            metadata={},
            on_run_completed="delete",
            enabled=True,
            created_at=now,
            updated_at=now,
        )
        tables = [Crons(here.database), Crons(there.database)]
        await tables[0].insert(cron)
        seen = [await table.due(now) for table in tables]  # both read it before either claims
        assert [[c.cron_id for c in due] for due in seen] == [[cron.cron_id]] * 2
        later = now + timedelta(minutes=1)
        claims = await asyncio.gather(
            *(table.claim(due[0], later) for table, due in zip(tables, seen, strict=True))
        )
        assert sorted(claims) == [False, True]
        assert [await table.due(now) for table in tables] == [[], []]
