"""`ThreadSweeper`: deletes expired threads, or prunes them to their latest checkpoints.

Safe with many replicas sweeping one database: each expired thread is claimed by one of them
(see `service.storage.thread_ttls`). A thread is deleted row first, then its checkpoints, so a
thread whose guarded deletion lost to a new run keeps them; if the process stops in between,
the checkpoints of a thread that no longer exists are left (unreachable through the API).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from langgraph.checkpoint.base import BaseCheckpointSaver

from threadloom.service.storage.records import utc_now
from threadloom.service.storage.thread_checkpoints import keep_latest_checkpoints
from threadloom.service.storage.thread_ttls import ThreadTtls

logger = logging.getLogger(__name__)

# How long a claim keeps other replicas off a thread: far longer than sweeping one takes.
CLAIM_S = 300.0


@dataclass(frozen=True, slots=True)
class SweepResult:
    deleted: int = 0
    pruned: int = 0


class ThreadSweeper:
    """Sweeps the threads whose TTL ran out, `limit` at most per sweep."""

    def __init__(self, ttls: ThreadTtls, checkpointer: BaseCheckpointSaver, *, limit: int) -> None:
        self._ttls = ttls
        self._checkpointer = checkpointer
        self._limit = limit

    async def sweep(self, now: datetime | None = None) -> SweepResult:
        """Sweep the threads expired at `now` (default: the present) that no run is using."""
        moment = (now or utc_now()).timestamp()
        deleted = pruned = 0
        for claim in await self._ttls.claim_expired(moment, claim_s=CLAIM_S, limit=self._limit):
            if claim.strategy == "delete":
                if await self._ttls.delete_claimed(claim):
                    await self._checkpointer.adelete_thread(claim.thread_id)
                    deleted += 1
            else:
                await keep_latest_checkpoints(self._checkpointer, [claim.thread_id])
                await self._ttls.release(claim, moment)
                pruned += 1
        if deleted or pruned:
            logger.info("expired threads swept deleted=%d pruned=%d", deleted, pruned)
        return SweepResult(deleted, pruned)
