"""How many PostgreSQL transactions a run commits, counted by the server itself.

`pg_stat_database.xact_commit` counts every committed transaction of the database, reads
included; a backend that stays connected reports its counts to it only when it has been idle
for up to ten seconds (PostgreSQL 15), so the count is read after `STATS_SETTLE_S` of quiet.
The transaction ids the cluster handed out meanwhile count the transactions that wrote. Both
include whatever else used the database meanwhile (an idle threadloom polls its crons: two
reads a second), so runs are counted on a quiet machine.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import psycopg

from bench.load import RunOnce

STATS_SETTLE_S = 11.0


@dataclass(frozen=True, slots=True)
class Transactions:
    """Per run: committed transactions (reads included), and those among them that wrote."""

    committed: float
    wrote: float


async def _counters(url: str) -> tuple[int, int]:
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        cursor = await conn.execute(
            "SELECT (SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()),"
            " pg_snapshot_xmax(pg_current_snapshot())::text::bigint"
        )
        committed, next_xid = await cursor.fetchone()  # type: ignore[misc]
    return int(committed), int(next_xid)


async def count_transactions(run_once: RunOnce, runs: int, url: str) -> Transactions:
    """Do `runs` runs one after the other; the transactions each committed, on average."""
    await asyncio.sleep(STATS_SETTLE_S)  # what came before is reported
    committed_before, xid_before = await _counters(url)
    for _ in range(runs):
        await run_once()
    await asyncio.sleep(STATS_SETTLE_S)
    committed_after, xid_after = await _counters(url)
    # The first reading's own transaction is counted in the second.
    return Transactions(
        (committed_after - committed_before - 1) / runs, (xid_after - xid_before) / runs
    )
