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
    threads: Threads, thread_id: str, action: ThreadAction = "read"
) -> ThreadRecord | None:
    """The thread, if the caller may `action` it; None if it does not exist or is not theirs.
    A refusal of the policy's handler raises its error (403, or its own status)."""
    await authorize("threads", action, {"thread_id": thread_id})
    return await threads.get(thread_id)
