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


class _Body(BaseModel):
    # Unknown fields are ignored so that newer clients keep working against this server.
    model_config = ConfigDict(extra="ignore")


class ThreadCreate(_Body):
    thread_id: str | None = Field(None, description="A UUID; a new one is made when absent.")
    metadata: Metadata | None = None
    if_exists: Literal["raise", "do_nothing"] = "raise"
    ttl: dict[str, Any] | None = None
    supersteps: list[dict[str, Any]] | None = None


class ThreadPatch(_Body):
    metadata: Metadata | None = None
    ttl: dict[str, Any] | None = None


class ThreadSearch(_Body):
    ids: Ids | None = None
    metadata: Metadata | None = None
    values: Metadata | None = None
    status: ThreadStatus | None = None
    limit: Limit = 10
    offset: Offset = 0
    sort_by: ThreadSortBy | None = None
    sort_order: SortOrder | None = None


class ThreadCount(_Body):
    metadata: Metadata | None = None
    values: Metadata | None = None
    status: ThreadStatus | None = None


class HistoryRequest(_Body):
    limit: Limit = 10
    before: str | dict[str, Any] | None = None
    metadata: MetadataFilter | None = None
    checkpoint: dict[str, Any] | None = None


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
