"""What routes receive by dependency injection: the app's services and validated path ids."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated
from uuid import UUID

from fastapi import Depends, Request
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.pregel import Pregel

from service.errors import InvalidRequest, thread_not_found
from service.runs.manager import RunManager
from service.runs.queue import RunQueue
from service.settings import Settings
from service.storage.records import ThreadRecord
from service.storage.runs import Runs
from service.storage.threads import Threads


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


def get_services(request: Request) -> Services:
    return request.app.state.services


ServicesDep = Annotated[Services, Depends(get_services)]


def canonical_id(value: str, what: str) -> str:
    """`value` as a canonical UUID string; 422 naming `what` if it is not a UUID."""
    try:
        return str(UUID(value))
    except ValueError:
        raise InvalidRequest(f"Invalid {what} ID: must be a UUID, got {value!r}.") from None


def _thread_id(thread_id: str) -> str:
    return canonical_id(thread_id, "thread")


def _run_id(run_id: str) -> str:
    return canonical_id(run_id, "run")


ThreadId = Annotated[str, Depends(_thread_id)]
RunId = Annotated[str, Depends(_run_id)]


async def _existing_thread(thread_id: ThreadId, services: ServicesDep) -> ThreadRecord:
    thread = await services.threads.get(thread_id)
    if thread is None:
        raise thread_not_found(thread_id)
    return thread


ExistingThread = Annotated[ThreadRecord, Depends(_existing_thread)]
