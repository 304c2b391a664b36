"""What routes receive by dependency injection: the app's services and validated path ids.

A thread id in a path that names another owner's thread answers 404 here, before any route
code runs (`service.storage.owners`), as if the thread did not exist.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated
from uuid import UUID

from fastapi import Depends, Path, Request
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.pregel import Pregel

from threadloom.service.errors import InvalidRequest, thread_not_found
from threadloom.service.runs.manager import RunManager
from threadloom.service.runs.queue import RunQueue
from threadloom.service.settings import Settings
from threadloom.service.storage.records import ThreadRecord
from threadloom.service.storage.runs import Runs
from threadloom.service.storage.store_items import StoreItems
from threadloom.service.storage.threads import Threads

if TYPE_CHECKING:  # service.crons uses this module's id checks
    from threadloom.service.crons.jobs import CronJobs


@dataclass(frozen=True, slots=True)
class Services:
    """Everything the routes use, opened once by the app's lifespan."""

    settings: Settings
    graph: Pregel
    checkpointer: BaseCheckpointSaver
    threads: Threads
    runs: Runs
    run_queue: RunQueue
    run_manager: RunManager
    store_items: StoreItems
    cron_jobs: CronJobs


# Dependencies are `async def` even where they do not await: FastAPI runs a plain `def` in its
# thread pool, a hand-over that costs more than these functions themselves.
async def get_services(request: Request) -> Services:
    return request.app.state.services


ServicesDep = Annotated[Services, Depends(get_services)]


def canonical_id(value: str, what: str) -> str:
    """`value` as a canonical UUID string; 422 naming `what` if it is not a UUID."""
    try:
        return str(UUID(value))
    except ValueError:
        raise InvalidRequest(f"Invalid {what} ID: must be a UUID, got {value!r}.") from None


# Path ids are checked by `canonical_id` (for its message); the document shows their format.
UuidPath = Annotated[str, Path(json_schema_extra={"format": "uuid"})]


async def _thread_id(thread_id: UuidPath, services: ServicesDep) -> str:
    """A thread id that may name no thread yet (a run can create it), but not another owner's."""
    thread_id = canonical_id(thread_id, "thread")
    if await services.threads.hidden(thread_id):
        raise thread_not_found(thread_id)
    return thread_id


async def _run_id(run_id: UuidPath) -> str:
    return canonical_id(run_id, "run")


ThreadId = Annotated[str, Depends(_thread_id)]
RunId = Annotated[str, Depends(_run_id)]


async def _existing_thread(thread_id: UuidPath, services: ServicesDep) -> ThreadRecord:
    thread_id = canonical_id(thread_id, "thread")
    thread = await services.threads.get(thread_id)  # only the current owner's
    if thread is None:
        raise thread_not_found(thread_id)
    return thread


ExistingThread = Annotated[ThreadRecord, Depends(_existing_thread)]
