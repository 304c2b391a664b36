"""Bodies of the thread routes."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from threadloom.service.schemas.bounds import (
    Ids,
    Limit,
    Metadata,
    MetadataFilter,
    Offset,
    check_messages,
)
from threadloom.service.storage.records import SortOrder, ThreadSortBy, ThreadStatus
from threadloom.service.storage.thread_ttls import ThreadTtl


class _Body(BaseModel):
    # Unknown fields are ignored so that newer clients keep working against this server.
    model_config = ConfigDict(extra="ignore")


class ThreadCreate(_Body):
    thread_id: str | None = Field(None, description="A UUID; a new one is made when absent.")
    metadata: Metadata | None = None
    if_exists: Literal["raise", "do_nothing"] = "raise"
    ttl: ThreadTtl | None = None
    supersteps: list[dict[str, Any]] | None = None


class ThreadPatch(_Body):
    metadata: Metadata | None = None
    ttl: ThreadTtl | None = None


# The fields of a thread a search may `select` (LangGraph Server's list).
ThreadField = Literal[
    "thread_id",
    "created_at",
    "updated_at",
    "state_updated_at",
    "metadata",
    "config",
    "status",
    "values",
    "interrupts",
]


class ThreadSearch(_Body):
    ids: Ids | None = None
    metadata: Metadata | None = None
    values: Metadata | None = None
    status: ThreadStatus | None = None
    limit: Limit = 10
    offset: Offset = 0
    sort_by: ThreadSortBy | None = None
    sort_order: SortOrder | None = None
    select: list[ThreadField] | None = Field(
        None, description="Answer with only these fields of each thread (all when absent)."
    )


class ThreadCount(_Body):
    metadata: Metadata | None = None
    values: Metadata | None = None
    status: ThreadStatus | None = None


class HistoryRequest(_Body):
    limit: Limit = 10
    before: str | dict[str, Any] | None = Field(
        None,
        description="A checkpoint id, a checkpoint (`{checkpoint_id, ...}`), or a config "
        "holding one (`{configurable: {checkpoint_id}}`, as the JavaScript SDK sends it).",
    )
    metadata: MetadataFilter | None = None
    checkpoint: dict[str, Any] | None = None

    def before_checkpoint(self) -> dict[str, Any] | None:
        """The checkpoint `before` names, however it was written."""
        before = self.before
        if isinstance(before, str):
            return {"checkpoint_id": before}
        if before and isinstance(before.get("configurable"), dict):
            return before["configurable"]
        return before or None


class StateUpdate(_Body):
    """`POST /threads/{id}/state`: write `values` as if node `as_node` had returned them."""

    values: Annotated[dict[str, Any] | list[Any] | None, AfterValidator(check_messages)] = None
    as_node: str | None = None
    checkpoint_id: str | None = None
    checkpoint: dict[str, Any] | None = None


class StateAtCheckpoint(_Body):
    """`POST /threads/{id}/state/checkpoint`: the state at `checkpoint`."""

    checkpoint: dict[str, Any]
    subgraphs: bool = False


class ThreadPrune(_Body):
    """`POST /threads/prune`: delete the threads, or (`keep_latest`) all but their latest
    checkpoints."""

    thread_ids: Ids
    strategy: Literal["delete", "keep_latest"] = "delete"
