"""A LangGraph `StateSnapshot` in the JSON shape of the API's `ThreadState`."""

from __future__ import annotations

from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.types import Interrupt, PregelTask, StateSnapshot


def thread_state(snapshot: StateSnapshot) -> dict[str, Any]:
    """The thread's state at one checkpoint: values, next nodes, tasks, interrupts, lineage."""
    checkpoint = checkpoint_ref(snapshot.config)
    parent = checkpoint_ref(snapshot.parent_config)
    return {
        "values": snapshot.values,
        "next": list(snapshot.next),
        "tasks": [_task(task) for task in snapshot.tasks],
        "metadata": snapshot.metadata,
        "created_at": snapshot.created_at,
        "checkpoint": checkpoint,
        "parent_checkpoint": parent,
        "interrupts": [interrupt_json(i) for i in snapshot.interrupts],
        # Older clients read these two flat ids.
        "checkpoint_id": checkpoint["checkpoint_id"] if checkpoint else None,
        "parent_checkpoint_id": parent["checkpoint_id"] if parent else None,
    }


def pending_interrupts(snapshot: StateSnapshot) -> dict[str, list[dict[str, Any]]]:
    """Interrupts waiting for a resume, by the id of the task that raised them."""
    return {
        task.id: [interrupt_json(i) for i in task.interrupts]
        for task in snapshot.tasks
        if task.interrupts
    }


def interrupt_json(interrupt: Interrupt) -> dict[str, Any]:
    data = {"id": interrupt.id, "value": interrupt.value}
    if interrupt.response_schema is not None:
        data["response_schema"] = interrupt.response_schema
    return data


def checkpoint_ref(config: RunnableConfig | None) -> dict[str, Any] | None:
    """The `{thread_id, checkpoint_ns, checkpoint_id}` a config points at, if it points at one."""
    configurable = (config or {}).get("configurable") or {}
    if not configurable.get("thread_id") or not configurable.get("checkpoint_id"):
        return None
    ref = {
        "thread_id": configurable["thread_id"],
        "checkpoint_ns": configurable.get("checkpoint_ns") or "",
        "checkpoint_id": configurable["checkpoint_id"],
    }
    if "checkpoint_map" in configurable:
        ref["checkpoint_map"] = configurable["checkpoint_map"]
    return ref


def _task(task: PregelTask) -> dict[str, Any]:
    nested = task.state if isinstance(task.state, StateSnapshot) else None
    pointer = task.state if isinstance(task.state, dict) else None
    return {
        "id": task.id,
        "name": task.name,
        "path": task.path,
        "error": task.error,
        "interrupts": [interrupt_json(i) for i in task.interrupts],
        "checkpoint": pointer.get("configurable") if pointer else None,
        "state": thread_state(nested) if nested else None,
        "result": task.result,
    }
