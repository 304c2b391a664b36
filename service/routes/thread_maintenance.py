"""Copying a thread with its whole checkpoint history, and pruning threads (deleting them, or
their history but the latest state)."""

from __future__ import annotations

from fastapi import APIRouter

from threadloom.service.auth.policy import authorize
from threadloom.service.errors import thread_not_found
from threadloom.service.http.deps import ExistingThread, ServicesDep
from threadloom.service.http.json_codec import JsonResponse
from threadloom.service.ids import canonical_id, new_id
from threadloom.service.schemas.responses import Pruned, Thread, answers
from threadloom.service.schemas.threads import ThreadPrune
from threadloom.service.storage.thread_checkpoints import (
    copy_thread_checkpoints,
    keep_latest_checkpoints,
)

router = APIRouter(prefix="/threads", tags=["threads"])


@router.post("/prune", responses=answers(Pruned, 409))
async def prune_threads(body: ThreadPrune, services: ServicesDep) -> JsonResponse:
    """Prune the threads of the current owner among `thread_ids` (others, and unknown ids, are
    skipped); answers `{"pruned_count": n}`. `delete` deletes them as `DELETE /threads/{id}`
    does; `keep_latest` keeps only their latest checkpoints."""
    # Every id is checked before anything changes.
    thread_ids = dict.fromkeys(canonical_id(thread_id, "thread") for thread_id in body.thread_ids)
    await authorize(
        "threads", "delete", {"thread_ids": list(thread_ids), "strategy": body.strategy}
    )
    found = [
        thread_id for thread_id in thread_ids if await services.threads.get(thread_id) is not None
    ]
    if body.strategy == "delete":
        for thread_id in found:
            await services.run_manager.delete_thread(thread_id)
    elif found:
        await keep_latest_checkpoints(services.checkpointer, found)
    return JsonResponse({"pruned_count": len(found)})


@router.post("/{thread_id}/copy", responses=answers(Thread, 404, 409))
async def copy_thread(thread: ExistingThread, services: ServicesDep) -> JsonResponse:
    """A new thread with the thread's metadata and its checkpoints (its state and history);
    its runs stay with the original."""
    copy_id = new_id()
    asked = {"thread_id": copy_id, "metadata": dict(thread.metadata), "if_exists": "raise"}
    await authorize("threads", "create", asked)  # the copy is a new thread of the caller's
    await services.threads.create(copy_id, asked["metadata"])
    try:
        await copy_thread_checkpoints(services.checkpointer, thread.thread_id, copy_id)
    except BaseException:
        # Nothing of a failed copy stays.
        await services.checkpointer.adelete_thread(copy_id)
        await services.threads.delete(copy_id)
        raise
    await services.thread_record.save(copy_id)
    copied = await services.threads.get(copy_id)
    if copied is None:  # deleted in the meantime
        raise thread_not_found(copy_id)
    return JsonResponse(copied.to_api())
