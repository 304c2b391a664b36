"""A thread's checkpointed state: the latest, at one checkpoint, the history (newest first);
and updates to it, written as if a node had returned them (human in the loop, time travel)."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query
from langgraph.errors import InvalidUpdateError
from langgraph.pregel import Pregel

from threadloom.service.errors import BadRequest, Conflict, InvalidRequest, NotFound
from threadloom.service.http.deps import ExistingThread, ServicesDep, ThreadToUpdate
from threadloom.service.http.json_codec import JsonResponse
from threadloom.service.schemas.bounds import Limit
from threadloom.service.schemas.responses import StateWritten, ThreadState, answers
from threadloom.service.schemas.threads import HistoryRequest, StateAtCheckpoint, StateUpdate
from threadloom.service.storage.records import ThreadRecord
from threadloom.service.threads.state import thread_state

router = APIRouter(prefix="/threads/{thread_id}", tags=["thread state"])


@router.get("/state", responses=answers(ThreadState, 404))
async def get_state(
    thread: ExistingThread, services: ServicesDep, subgraphs: bool = False
) -> JsonResponse:
    return await _state(services, thread, _config(thread.thread_id), subgraphs)


@router.get("/state/{checkpoint_id}", responses=answers(ThreadState, 404))
async def get_state_at(
    checkpoint_id: UUID, thread: ExistingThread, services: ServicesDep, subgraphs: bool = False
) -> JsonResponse:
    checkpoint = {"checkpoint_id": str(checkpoint_id)}
    await _check_checkpoint(services, thread.thread_id, checkpoint)
    return await _state(services, thread, _config(thread.thread_id, checkpoint), subgraphs)


@router.post("/state/checkpoint", responses=answers(ThreadState, 404))
async def post_state_at(
    thread: ExistingThread, body: StateAtCheckpoint, services: ServicesDep
) -> JsonResponse:
    if body.checkpoint.get("checkpoint_id"):
        await _check_checkpoint(services, thread.thread_id, body.checkpoint)
    config = _config(thread.thread_id, body.checkpoint)
    return await _state(services, thread, config, body.subgraphs)


@router.post("/state", responses=answers(StateWritten, 400, 404, 409))
async def update_state(
    thread: ThreadToUpdate, body: StateUpdate, services: ServicesDep
) -> JsonResponse:
    """Write `values` to the thread (at `checkpoint_id`, forking from there) as node `as_node`;
    refused while a run is going on the thread."""
    thread_id = thread.thread_id
    if "graph_id" not in thread.metadata:
        raise BadRequest(
            f"Thread '{thread_id}' has no assigned graph ID: run it once (or set its metadata "
            "'graph_id') before updating its state."
        )
    if await services.run_manager.is_busy(thread_id):
        raise Conflict(
            f"Thread {thread_id} has a run in flight; wait for it to end (or cancel it) before "
            "updating the thread's state."
        )
    checkpoint = {**(body.checkpoint or {})}
    if body.checkpoint_id:
        checkpoint["checkpoint_id"] = body.checkpoint_id
    if "checkpoint_id" in checkpoint:
        await _check_checkpoint(services, thread_id, checkpoint)
    config = _config(thread_id, checkpoint)
    async with services.graphs.open(thread.graph_id, config) as graph:
        _check_state_keys(graph, body.values)
        try:
            written = await graph.aupdate_state(config, body.values, as_node=body.as_node)
        except InvalidUpdateError as exc:
            raise BadRequest(str(exc)) from None
        # What the graph's reducers and edges raise on values they cannot take.
        except (ValueError, TypeError, KeyError, IndexError, AttributeError) as exc:
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise InvalidRequest(f"values: the graph cannot take this update: {reason}") from None
    await services.thread_record.save(thread_id, graph_id=thread.graph_id)
    configurable = written["configurable"]
    return JsonResponse(
        {
            "checkpoint": configurable,
            "configurable": configurable,  # the older name of the same
            "checkpoint_id": configurable["checkpoint_id"],
        }
    )


@router.post("/history", responses=answers(list[ThreadState], 404))
async def post_history(
    thread: ExistingThread, services: ServicesDep, body: HistoryRequest | None = None
) -> JsonResponse:
    return await _history(thread, body or HistoryRequest(), services)


@router.get("/history", responses=answers(list[ThreadState], 404))
async def get_history(
    thread: ExistingThread,
    services: ServicesDep,
    limit: Annotated[Limit, Query()] = 1,  # LangGraph Server's GET default; POST's is 10
    before: str | None = None,
) -> JsonResponse:
    return await _history(thread, HistoryRequest(limit=limit, before=before), services)


async def _history(
    thread: ThreadRecord, body: HistoryRequest, services: ServicesDep
) -> JsonResponse:
    thread_id, before = thread.thread_id, body.before_checkpoint()
    config = _config(thread_id, body.checkpoint)
    async with services.graphs.open(thread.graph_id, config) as graph:
        states = [
            thread_state(snapshot)
            async for snapshot in graph.aget_state_history(
                config,
                filter=body.metadata,
                before=_config(thread_id, before) if before else None,
                limit=body.limit,
            )
        ]
    return JsonResponse(states)


async def _state(
    services: ServicesDep, thread: ThreadRecord, config: dict[str, Any], subgraphs: bool
) -> JsonResponse:
    """The state at `config`, read through the graph that last ran on the thread (its
    channels and nodes say what the checkpoint holds and what runs next)."""
    async with services.graphs.open(thread.graph_id, config) as graph:
        snapshot = await graph.aget_state(config, subgraphs=subgraphs)
    return JsonResponse(thread_state(snapshot))


async def _check_checkpoint(
    services: ServicesDep, thread_id: str, checkpoint: dict[str, Any]
) -> None:
    """Refuse to fork from a checkpoint the thread does not have."""
    found = await services.checkpointer.aget_tuple(_config(thread_id, checkpoint))
    if found is None:
        raise NotFound(
            f"Thread {thread_id} has no checkpoint {checkpoint['checkpoint_id']!r}; take one "
            "from its history."
        )


def _check_state_keys(graph: Pregel, values: Any) -> None:
    """Refuse keys the graph's state does not have (LangGraph would drop them silently)."""
    if not isinstance(values, dict):
        return
    keys = graph.stream_channels_list
    unknown = sorted(set(values) - set(keys))
    if unknown:
        raise InvalidRequest(
            f"values: the thread's state has no {', '.join(map(repr, unknown))}; "
            f"its keys are: {', '.join(keys)}."
        )


def _config(thread_id: str, checkpoint: dict[str, Any] | None = None) -> dict[str, Any]:
    """A config for the thread's root graph, pointing at `checkpoint` when one is given."""
    return {"configurable": {"checkpoint_ns": "", **(checkpoint or {}), "thread_id": thread_id}}
