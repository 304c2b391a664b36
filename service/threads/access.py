"""The one way a front reads a thread for its caller: the auth policy judges the action first,
then the thread is read through the policy's filter (and, with API keys, the caller's owner),
so another user's thread is absent (None), on every front alike."""

from __future__ import annotations

from typing import Literal

from threadloom.service.auth.policy import authorize
from threadloom.service.storage.records import ThreadRecord
from threadloom.service.storage.threads import Threads

ThreadAction = Literal["read", "update", "delete"]


async def thread_for_caller(
    threads: Threads, thread_id: str, action: ThreadAction = "read", *, run_id: str | None = None
) -> ThreadRecord | None:
    """The thread, if the caller may `action` it (or its run `run_id`, which the policy's
    handler is told of); None if it does not exist or is not theirs. A refusal of the
    policy's handler raises its error (403, or its own status)."""
    asked = {"thread_id": thread_id}
    if run_id is not None:
        asked["run_id"] = run_id
    await authorize("threads", action, asked)
    return await threads.get(thread_id)
