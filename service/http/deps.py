"""What routes receive by dependency injection: the app's services and validated path ids.

A thread id in a path that names another owner's thread answers 404 here, before any route
code runs (`service.storage.owners`), as if the thread did not exist. The thread dependencies
ask the auth policy first (`service.auth.policy.authorize`), so its filter already scopes the
lookup.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Path, Request
from langgraph.checkpoint.base import BaseCheckpointSaver

from threadloom.service.assistants import Assistants
from threadloom.service.crons.jobs import CronJobs
from threadloom.service.deployment.graph_registry import GraphRegistry
from threadloom.service.errors import thread_not_found
from threadloom.service.http.configurable_headers import HeaderFilter
from threadloom.service.ids import canonical_id
from threadloom.service.runs.manager import RunManager
from threadloom.service.runs.queue import RunQueue
from threadloom.service.schemas.runs import RunCreate
from threadloom.service.settings import Settings
from threadloom.service.storage.records import ThreadRecord
from threadloom.service.storage.runs import Runs
from threadloom.service.storage.store_items import StoreItems
from threadloom.service.storage.threads import Threads
from threadloom.service.threads.access import ThreadAction, thread_for_caller
from threadloom.service.threads.record import ThreadRecorder
from threadloom.service.threads.watch import ThreadWatches


@dataclass(frozen=True, slots=True)
class Services:
    """Everything the routes use, opened once by the app's lifespan."""

    settings: Settings
    graphs: GraphRegistry
    checkpointer: BaseCheckpointSaver
    threads: Threads
    runs: Runs
    run_queue: RunQueue
    run_manager: RunManager
    assistants: Assistants
    # Where runs leave their threads; routes that change a thread record it here too.
    thread_record: ThreadRecorder
    store_items: StoreItems
    cron_jobs: CronJobs
    thread_watches: ThreadWatches
    # The request headers runs receive in their configurable (`http.configurable_headers`).
    run_headers: HeaderFilter


# Dependencies are `async def` even where they do not await: FastAPI runs a plain `def` in its
# thread pool, a hand-over that costs more than these functions themselves.
async def get_services(request: Request) -> Services:
    return request.app.state.services


ServicesDep = Annotated[Services, Depends(get_services)]


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


def _existing_thread_for(action: ThreadAction) -> Callable[..., Awaitable[ThreadRecord]]:
    """A dependency: the path's thread, once the auth policy allows `action` on it."""

    async def existing_thread(thread_id: UuidPath, services: ServicesDep) -> ThreadRecord:
        thread_id = canonical_id(thread_id, "thread")
        thread = await thread_for_caller(services.threads, thread_id, action)
        if thread is None:
            raise thread_not_found(thread_id)
        return thread

    return existing_thread


ExistingThread = Annotated[ThreadRecord, Depends(_existing_thread_for("read"))]
ThreadToUpdate = Annotated[ThreadRecord, Depends(_existing_thread_for("update"))]
ThreadToDelete = Annotated[ThreadRecord, Depends(_existing_thread_for("delete"))]


async def _run_request(body: RunCreate, request: Request, services: ServicesDep) -> RunCreate:
    return with_request_headers(body, request, services)


def with_request_headers(body: RunCreate, request: Request, services: Services) -> RunCreate:
    """The run's request with the configured request headers added to its configurable (to
    `context` when the request gives that instead), over the body's values for the same keys,
    as LangGraph Server does."""
    picked = services.run_headers.pick(request.headers)
    if not picked:
        return body
    if body.context:
        return body.model_copy(update={"context": {**body.context, **picked}})
    config = dict(body.config or {})
    config["configurable"] = {**(config.get("configurable") or {}), **picked}
    return body.model_copy(update={"config": config})


RunRequest = Annotated[RunCreate, Depends(_run_request)]
