"""Recording where a thread stands after a run or a change: its status, error, latest values
and pending interrupts, copied from its checkpoint into the thread row (for listing and search).
"""

from __future__ import annotations

import logging

from threadloom.service.errors import error_event
from threadloom.service.runs.executor import RunExecutor
from threadloom.service.runs.queue import RunQueue
from threadloom.service.storage.records import ThreadStatus
from threadloom.service.storage.threads import Threads
from threadloom.service.thread_state import pending_interrupts

logger = logging.getLogger(__name__)


class ThreadRecorder:
    """Writes a thread's row from its latest checkpoint."""

    def __init__(self, executor: RunExecutor, threads: Threads, queue: RunQueue) -> None:
        self._executor = executor
        self._threads = threads
        self._queue = queue

    async def save(
        self,
        thread_id: str,
        failure: BaseException | None = None,
        besides: str | None = None,
        graph_id: str | None = None,
    ) -> None:
        """Record the thread as it is now: `busy` while a run (other than `besides`, the one
        ending) is pending or running on it, else `error` after `failure`, else `interrupted`
        when nodes wait to run (an interrupt), else `idle`. Its state is read through
        `graph_id`, by default the graph that last ran on it."""
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
        if await self._queue.busy(thread_id, besides=besides):
            status = "busy"
        elif failure is not None:
            status = "error"
        else:
            status = "interrupted" if snapshot is not None and snapshot.next else "idle"
        await self._threads.save_state(
            thread_id,
            status=status,
            error=error_event(failure) if failure else None,
            values=snapshot.values if snapshot else None,
            interrupts=pending_interrupts(snapshot) if snapshot else None,
        )

    async def _graph_of(self, thread_id: str) -> str | None:
        thread = await self._threads.get(thread_id)
        return thread.graph_id if thread is not None else None
