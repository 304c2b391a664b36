"""Rows of the thread, run and run event tables as immutable records, and their API JSON shape."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

ThreadStatus = Literal["idle", "busy", "interrupted", "error"]
RunStatus = Literal["pending", "running", "error", "success", "timeout", "interrupted"]
MultitaskStrategy = Literal["reject", "interrupt", "rollback", "enqueue"]
ThreadSortBy = Literal["thread_id", "status", "created_at", "updated_at", "state_updated_at"]
SortOrder = Literal["asc", "desc"]


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class ThreadRecord:
    """A conversation: its metadata, and a copy of its latest state for listing and search."""

    thread_id: str
    created_at: datetime
    updated_at: datetime
    state_updated_at: datetime
    metadata: dict[str, Any]
    status: ThreadStatus
    values: Any | None = None
    interrupts: dict[str, list[Any]] = field(default_factory=dict)
    error: dict[str, Any] | None = None

    @property
    def graph_id(self) -> str | None:
        """The graph that last ran on the thread (runs stamp it into the metadata)."""
        graph_id = self.metadata.get("graph_id")
        return graph_id if isinstance(graph_id, str) else None

    def to_api(self) -> dict[str, Any]:
        return {
            "thread_id": self.thread_id,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "state_updated_at": self.state_updated_at,
            "metadata": self.metadata,
            "status": self.status,
            "config": {},
            "values": self.values,
            "interrupts": self.interrupts,
            "error": self.error,
        }


@dataclass(frozen=True, slots=True)
class ThreadQuery:
    """Filters, order and page of a thread search; every filter is optional."""

    ids: list[str] | None = None
    metadata: dict[str, Any] | None = None
    values: dict[str, Any] | None = None
    status: ThreadStatus | None = None
    limit: int = 10
    offset: int = 0
    sort_by: ThreadSortBy = "created_at"
    sort_order: SortOrder = "desc"


@dataclass(frozen=True, slots=True)
class RunRecord:
    """One execution of the graph on a thread, and the request that started it."""

    run_id: str
    thread_id: str
    assistant_id: str
    created_at: datetime
    updated_at: datetime
    status: RunStatus
    metadata: dict[str, Any]
    kwargs: dict[str, Any]
    multitask_strategy: MultitaskStrategy
    # The API-key owner of its thread, where the reader needs it (not part of the API's run).
    owned_by: str | None = None

    def to_api(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "thread_id": self.thread_id,
            "assistant_id": self.assistant_id,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "status": self.status,
            "metadata": self.metadata,
            "kwargs": self.kwargs,
            "multitask_strategy": self.multitask_strategy,
        }


@dataclass(frozen=True, slots=True)
class RunEvent:
    """One SSE event of a run: its name (`values`, `messages`, `updates|ns`, ...) and JSON data."""

    name: str
    data: bytes
