"""Recording where a thread stands after a run or a change: its status, error, latest values
and pending interrupts, copied from its checkpoint into the thread row (for listing and search).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from threadloom.service.errors import error_event
from threadloom.service.runs.executor import RunExecutor
from threadloom.service.storage.database import Queries
from threadloom.service.storage.records import ThreadStatus
from threadloom.service.storage.threads import Threads
from threadloom.service.threads.state import pending_interrupts

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ThreadState:
    """What the thread row records of the thread's latest checkpoint and last failure; its
    status is `busy` instead while another run is pending or running on it."""

    status: ThreadStatus
    error: dict[str, Any] | None
    values: Any
    interrupts: dict[str, list[Any]] | None


class ThreadRecorder:
    """Writes a thread's row from its latest checkpoint."""

    def __init__(self, executor: RunExecutor, threads: Threads) -> None:
        self._executor = executor
        self._threads = threads

    async def save(
        self,
        thread_id: str,
        failure: BaseException | None = None,
        graph_id: str | None = None,
    ) -> None:
        """Record the thread as it is now (see `read`)."""
        await self.write(thread_id, await self.read(thread_id, failure, graph_id))

    async def read(
        self,
        thread_id: str,
        failure: BaseException | None = None,
        graph_id: str | None = None,
    ) -> ThreadState:
        """The thread as it is now: `error` after `failure`, else `interrupted` when nodes
        wait to run (an interrupt), else `idle`. Its state is read through `graph_id`, by
        default the graph that last ran on it."""
        if graph_id is None:
            graph_id = await self._graph_of(thread_id)
        try:
            snapshot = await self._executor.snapshot(thread_id, graph_id)
        except Exception:
            # A failed run can leave writes LangGraph cannot read back (capture E's input);
            # the thread still records the failure, and keeps its last readable values.
            logger.warning("thread state unreadable thread_id=%s", thread_id)
            snapshot = None
        status: ThreadStatus
        if failure is not None:
            status = "error"
        else:
            status = "interrupted" if snapshot is not None and snapshot.next else "idle"
        return ThreadState(
            status=status,
            error=error_event(failure) if failure else None,
            values=snapshot.values if snapshot else None,
            interrupts=pending_interrupts(snapshot) if snapshot else None,
        )

    async def write(
        self,
        thread_id: str,
        state: ThreadState,
        besides: str | None = None,
        tx: Queries | None = None,
    ) -> None:
        """Store `state` in the thread's row (in `tx`, if given); the row says `busy` while a
        run other than `besides` (the one ending) is pending or running on the thread."""
        await self._threads.save_state(
            thread_id,
            status=state.status,
            error=state.error,
            values=state.values,
            interrupts=state.interrupts,
            besides=besides,
            tx=tx,
        )

    async def _graph_of(self, thread_id: str) -> str | None:
        thread = await self._threads.get(thread_id)
        return thread.graph_id if thread is not None else None
