"""The storage layer, the same tests against SQLite and a real PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

from threadloom.service.ids import new_id
from threadloom.service.settings import Settings
from threadloom.service.storage.backends import Storage, open_storage
from threadloom.service.storage.owners import acting_for
from threadloom.service.storage.records import RunEvent, RunRecord, ThreadQuery, utc_now
from threadloom.service.storage.run_events import RunEventStore
from threadloom.service.storage.runs import Runs

OpenStorage = Callable[..., AbstractAsyncContextManager[Storage]]


@pytest.fixture
def open_(storage_settings: dict[str, Any]) -> OpenStorage:
    """Open the test's backend; keyword arguments override settings (e.g. `replica_id`)."""

    def _open(**overrides: Any) -> AbstractAsyncContextManager[Storage]:
        return open_storage(Settings(**{**storage_settings, **overrides}))

    return _open


@pytest.fixture
async def storage(open_: OpenStorage) -> AsyncIterator[Storage]:
    async with open_() as opened:
        yield opened


def run_record(thread_id: str, *, created_offset_s: float = 0.0, **fields: Any) -> RunRecord:
    now = utc_now() + timedelta(seconds=created_offset_s)
    return RunRecord(
        run_id=fields.pop("run_id", new_id()),
        thread_id=thread_id,
        assistant_id="a",
        created_at=now,
        updated_at=now,
        status=fields.pop("status", "pending"),
        metadata=fields.pop("metadata", {}),
        kwargs=fields.pop("kwargs", {"input": {"x": 1}}),
        multitask_strategy="enqueue",
    )


async def new_thread(storage: Storage, **metadata: Any) -> str:
    thread_id = new_id()
    assert await storage.threads.create(thread_id, metadata) is not None
    return thread_id


async def test_threads_create_get_and_refuse_a_taken_id(storage: Storage) -> None:
    thread_id = await new_thread(storage, user="ada", nested={"a": [1, 2]})

    thread = await storage.threads.get(thread_id)

    assert thread is not None and thread.status == "idle"
    assert thread.metadata == {"user": "ada", "nested": {"a": [1, 2]}}
    assert thread.created_at.tzinfo is not None
    assert await storage.threads.create(thread_id, {}) is None
    assert await storage.threads.get(new_id()) is None


async def test_thread_search_filters_sorts_and_pages(storage: Storage) -> None:
    ids = [await new_thread(storage, team="red" if n % 2 else "blue", n=n) for n in range(4)]
    await storage.threads.save_state(
        ids[2], status="interrupted", error=None, values={"messages": ["hi"], "k": 1}
    )

    async def search(**query: Any) -> list[str]:
        return [t.thread_id for t in await storage.threads.search(ThreadQuery(**query))]

    assert await search() == ids[::-1]
    assert await search(metadata={"team": "red"}) == [ids[3], ids[1]]
    assert await search(metadata={"team": "red", "n": 1}) == [ids[1]]
    assert await search(values={"k": 1}) == [ids[2]]
    assert await search(values={"messages": ["hi"]}) == [ids[2]]
    assert await search(status="interrupted") == [ids[2]]
    assert await search(limit=2, offset=1) == [ids[2], ids[1]]
    assert await search(sort_order="asc", limit=1) == [ids[0]]
    assert await search(ids=[ids[0], ids[3]]) == [ids[3], ids[0]]
    assert await storage.threads.count(ThreadQuery(metadata={"team": "blue"})) == 2


async def test_merge_metadata_sets_keys_and_none_removes_them(storage: Storage) -> None:
    thread_id = await new_thread(storage, keep=1, drop=2)

    await storage.threads.merge_metadata(thread_id, {"drop": None, "added": {"x": True}})

    thread = await storage.threads.get(thread_id)
    assert thread is not None and thread.metadata == {"keep": 1, "added": {"x": True}}


async def test_save_state_keeps_stored_values_unless_given(storage: Storage) -> None:
    thread_id = await new_thread(storage)
    await storage.threads.save_state(
        thread_id, status="interrupted", error=None, values={"v": 1}, interrupts={"t": [{"i": 1}]}
    )

    await storage.threads.save_state(thread_id, status="error", error={"error": "E"})

    thread = await storage.threads.get(thread_id)
    assert thread is not None
    assert (thread.status, thread.error, thread.values) == ("error", {"error": "E"}, {"v": 1})
    assert thread.interrupts == {"t": [{"i": 1}]}


async def test_runs_round_trip_and_list_newest_first(storage: Storage) -> None:
    thread_id = await new_thread(storage)
    first = run_record(thread_id, metadata={"m": "é"}, kwargs={"input": None, "n": [1]})
    second = run_record(thread_id, created_offset_s=1)
    await storage.runs.create(first)
    await storage.runs.create(second)
    await storage.runs.set_status(first.run_id, "success")

    listed = await storage.runs.list(thread_id, limit=10, offset=0)
    got = await storage.runs.get(thread_id, first.run_id)

    assert [run.run_id for run in listed] == [second.run_id, first.run_id]
    assert got is not None and got.status == "success"
    assert (got.metadata, got.kwargs) == (first.metadata, first.kwargs)
    assert got.created_at == first.created_at
    pending = await storage.runs.list(thread_id, limit=10, offset=0, status="pending")
    assert [run.run_id for run in pending] == [second.run_id]
    assert await storage.runs.get(new_id(), first.run_id) is None


async def test_one_running_run_per_thread_in_arrival_order(storage: Storage) -> None:
    thread_id = await new_thread(storage)
    runs = [run_record(thread_id, created_offset_s=n) for n in range(3)]
    for run in reversed(runs):  # insertion order must not matter, creation time does
        await storage.runs.create(run)
    other_thread_run = run_record(await new_thread(storage))
    await storage.runs.create(other_thread_run)

    assert not await storage.runs.claim_turn(runs[1].run_id)  # runs[0] came first
    assert await storage.runs.claim_turn(runs[0].run_id)
    assert not await storage.runs.claim_turn(runs[1].run_id)  # runs[0] is running
    assert await storage.runs.claim_turn(other_thread_run.run_id)  # threads are independent
    assert await storage.runs.has_unfinished(thread_id)
    await storage.runs.set_status(runs[0].run_id, "success")
    assert await storage.runs.claim_turn(runs[1].run_id)
    assert not await storage.runs.claim_turn(runs[1].run_id)  # already running
    await storage.runs.set_status(runs[1].run_id, "interrupted")
    await storage.runs.set_status(runs[2].run_id, "interrupted")
    assert not await storage.runs.has_unfinished(thread_id)


async def test_concurrent_claims_let_exactly_one_run(storage: Storage) -> None:
    thread_id = await new_thread(storage)
    first = run_record(thread_id)
    # The same creation time: the run id decides the order.
    runs = [first, replace(run_record(thread_id), created_at=first.created_at)]
    for run in runs:
        await storage.runs.create(run)

    claims = await asyncio.gather(*(storage.runs.claim_turn(run.run_id) for run in runs * 2))

    assert claims.count(True) == 1
    running = await storage.runs.list(thread_id, limit=10, offset=0, status="running")
    assert [run.run_id for run in running] == [min(run.run_id for run in runs)]


async def test_renew_extends_own_leases_and_reports_cancel_requests(storage: Storage) -> None:
    thread_id = await new_thread(storage)
    kept, cancelled = run_record(thread_id), run_record(thread_id, created_offset_s=1)
    for run in (kept, cancelled):
        await storage.runs.create(run)
    other_replica = Runs(storage.database, owner="other", lease_ttl_s=30)

    assert await other_replica.request_cancel(thread_id, [cancelled.run_id]) == 1
    leases = await storage.runs.renew([kept.run_id, cancelled.run_id])

    assert [lease.cancel_requested for lease in leases] == [False, True]
    assert not any(lease.lost(storage.replica_id) for lease in leases)
    assert await other_replica.recover_expired(retry=False) == []  # renewed: not expired
    assert await storage.runs.request_cancel(thread_id) == 2


async def test_expired_running_runs_are_interrupted_and_queued_ones_taken_over(
    storage: Storage,
) -> None:
    thread_id = await new_thread(storage)
    stopped = Runs(storage.database, owner="stopped", lease_ttl_s=-1)  # leases already expired
    running, queued = run_record(thread_id), run_record(thread_id, created_offset_s=1)
    for run in (running, queued):
        await stopped.create(run)
    assert await stopped.claim_turn(running.run_id)
    alive = run_record(await new_thread(storage))
    await storage.runs.create(alive)

    recovered = await storage.runs.recover_expired(retry=False)

    assert sorted((r.record.run_id, r.record.status, r.started) for r in recovered) == sorted(
        [(running.run_id, "interrupted", True), (queued.run_id, "pending", False)]
    )
    # The queued run is this replica's now, and its thread's turn is free for it.
    assert await storage.runs.claim_turn(queued.run_id)
    assert await storage.runs.has_unfinished(alive.thread_id)  # a live lease is left alone
    assert [lease.lost("stopped") for lease in await stopped.renew([running.run_id])] == [True]
    assert await storage.runs.recover_expired(retry=False) == []


async def test_the_next_expiry_is_that_of_another_replicas_first_lease(storage: Storage) -> None:
    assert await storage.runs.next_expiry_s() is None
    await storage.runs.create(run_record(await new_thread(storage)))  # this replica's own
    assert await storage.runs.next_expiry_s() is None
    await Runs(storage.database, owner="later", lease_ttl_s=600).create(
        run_record(await new_thread(storage))
    )
    later = await storage.runs.next_expiry_s()
    await Runs(storage.database, owner="stopped", lease_ttl_s=-1).create(
        run_record(await new_thread(storage))
    )

    assert later is not None and 0 < later <= 600
    assert await storage.runs.next_expiry_s() == 0  # ran out already: take it over now


async def test_retry_recovery_requeues_runs_under_the_recovering_replica(
    storage: Storage,
) -> None:
    thread_id = await new_thread(storage)
    stopped = Runs(storage.database, owner="stopped", lease_ttl_s=-1)
    run = run_record(thread_id)
    await stopped.create(run)
    assert await stopped.claim_turn(run.run_id)

    ((recovered, started),) = [
        (r.record, r.started) for r in await storage.runs.recover_expired(retry=True)
    ]

    assert (recovered.run_id, recovered.status, started) == (run.run_id, "pending", True)
    assert recovered.kwargs == run.kwargs
    (lease,) = await storage.runs.renew([run.run_id])
    assert (lease.owner, lease.status) == (storage.replica_id, "pending")
    assert await storage.runs.claim_turn(run.run_id)


async def test_a_replica_that_lost_a_run_can_no_longer_start_or_settle_it(
    storage: Storage,
) -> None:
    thread_id = await new_thread(storage)
    stopped = Runs(storage.database, owner="stopped", lease_ttl_s=-1)
    run = run_record(thread_id)
    await stopped.create(run)
    assert len(await storage.runs.recover_expired(retry=True)) == 1

    assert not await stopped.claim_turn(run.run_id)
    await stopped.set_status(run.run_id, "interrupted")  # too late: the run is not its own

    assert await storage.runs.claim_turn(run.run_id)
    got = await storage.runs.get(thread_id, run.run_id)
    assert got is not None and got.status == "running"


async def test_own_runs_of_an_earlier_process_are_recovered_at_once(open_: OpenStorage) -> None:
    async with open_(replica_id="pod-0") as first:
        thread_id = await new_thread(first)
        run = run_record(thread_id)
        await first.runs.create(run)  # leased for 30 s: the process "crashes" holding it

    async with open_(replica_id="pod-1") as other, open_(replica_id="pod-0") as restarted:
        assert await other.runs.recover_expired(retry=False) == []
        recovered = await restarted.runs.recover_expired(retry=False, own=True)

    assert [(r.record.run_id, r.record.status) for r in recovered] == [(run.run_id, "pending")]


async def test_stale_busy_threads_are_those_without_unfinished_runs(storage: Storage) -> None:
    stale, active = await new_thread(storage), await new_thread(storage)
    for thread_id in (stale, active):
        async with storage.database.transaction() as tx:
            await storage.threads.mark_busy(thread_id, {}, {}, tx)
    await storage.runs.create(run_record(active))
    await storage.runs.create(run_record(stale, status="success"))

    assert await storage.threads.stale_busy_ids() == [stale]


async def test_event_log_appends_reads_and_closes(storage: Storage) -> None:
    thread_id = await new_thread(storage)
    run = run_record(thread_id)
    await storage.runs.create(run)
    events = [RunEvent(f"e{n}", b'{"n":%d}' % n) for n in range(3)]
    store = storage.events

    assert await store.append(run.run_id, 0, events[:2], close=False) == "stored"
    # retried: no change
    assert await store.append(run.run_id, 0, events[:2], close=False) == "stored"
    assert not await store.is_complete(run.run_id)
    await store.append(run.run_id, 2, events[2:], close=True)

    assert await store.read(run.run_id, 0) == events
    assert await store.read(run.run_id, 2) == events[2:]
    assert await store.count(run.run_id) == 3
    assert await store.is_complete(run.run_id)
    assert await store.is_complete(new_id())  # no such run: nothing will come


async def test_a_stopped_owner_log_is_closed_by_whoever_settles_the_run(storage: Storage) -> None:
    thread_id = await new_thread(storage)
    stopped = Runs(storage.database, owner="stopped", lease_ttl_s=-1)
    run = run_record(thread_id)
    await stopped.create(run)
    stopped_events = RunEventStore(storage.database, owner="stopped")
    await stopped_events.append(run.run_id, 0, [RunEvent("metadata", b"{}")], close=False)

    await storage.events.close_with(run.run_id, RunEvent("error", b'{"error":"ServerStopped"}'))

    assert [e.name for e in await storage.events.read(run.run_id, 0)] == ["metadata", "error"]
    assert await storage.events.is_complete(run.run_id)


async def test_only_the_replica_holding_a_run_adds_to_its_log(storage: Storage) -> None:
    run = run_record(await new_thread(storage))
    await storage.runs.create(run)
    other = RunEventStore(storage.database, owner="another replica")

    # Another replica took the run over (this one looked stopped): what it numbers next must
    # not be stored under numbers this one used, so this one's late events are refused.
    assert await other.append(run.run_id, 0, [RunEvent("late", b"1")], close=True) == "taken"

    assert await storage.events.count(run.run_id) == 0
    assert not await storage.events.is_complete(run.run_id)


async def test_an_ended_run_whose_owner_stopped_before_closing_its_log_is_complete(
    storage: Storage,
) -> None:
    stopped = Runs(storage.database, owner="stopped", lease_ttl_s=-1)
    run = run_record(await new_thread(storage))
    await stopped.create(run)
    assert not await storage.events.is_complete(run.run_id)  # pending: its owner may go on

    await stopped.set_status(run.run_id, "success")

    assert await storage.events.is_complete(run.run_id)


async def test_deleting_a_thread_deletes_its_runs_and_events(storage: Storage) -> None:
    thread_id = await new_thread(storage)
    run = run_record(thread_id)
    await storage.runs.create(run)
    await storage.events.append(run.run_id, 0, [RunEvent("metadata", b"{}")], close=True)

    assert await storage.threads.delete(thread_id)

    assert await storage.runs.get(thread_id, run.run_id) is None
    assert await storage.events.count(run.run_id) == 0
    assert not await storage.threads.delete(thread_id)
    # A writer still holding events of the deleted run learns there is nowhere to put them.
    assert await storage.events.append(run.run_id, 1, [RunEvent("x", b"1")], close=True) == "gone"


async def test_old_event_logs_are_forgotten(storage: Storage) -> None:
    run = run_record(await new_thread(storage))
    await storage.runs.create(run)
    await storage.events.append(run.run_id, 0, [RunEvent("metadata", b"{}")], close=True)

    assert await storage.events.delete_older_than(60) == 0
    assert await storage.events.delete_older_than(-60) == 1
    assert await storage.events.count(run.run_id) == 0


async def test_opening_again_keeps_the_data(open_: OpenStorage) -> None:
    async with open_() as first:
        thread_id = await new_thread(first, kept=True)

    async with open_() as second:
        thread = await second.threads.get(thread_id)

    assert thread is not None and thread.metadata == {"kept": True}


async def test_recovered_runs_carry_their_threads_owner(storage: Storage) -> None:
    with acting_for("alice"):
        thread_id = await new_thread(storage)
        stopped = Runs(storage.database, owner="stopped", lease_ttl_s=-1)
        run = run_record(thread_id)
        await stopped.create(run)

    (recovered,) = await storage.runs.recover_expired(retry=True)  # background work: no owner

    assert recovered.record.run_id == run.run_id and recovered.record.owned_by == "alice"
