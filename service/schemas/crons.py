"""Bodies of the cron routes (`/runs/crons...` and `/threads/{id}/runs/crons`)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from threadloom.service.schemas.bounds import Limit, Metadata, Offset, RunConfig, bound_messages
from threadloom.service.storage.crons import CronSortBy, OnRunCompleted
from threadloom.service.storage.records import MultitaskStrategy, SortOrder

# What `select` may name in a search (LangGraph Server's list).
CronField = Literal[
    "cron_id",
    "assistant_id",
    "thread_id",
    "on_run_completed",
    "end_time",
    "schedule",
    "timezone",
    "created_at",
    "updated_at",
    "user_id",
    "payload",
    "next_run_date",
    "metadata",
    "enabled",
]


class _Body(BaseModel):
    # Unknown fields are ignored so that newer clients keep working against this server.
    model_config = ConfigDict(extra="ignore")


class CronRunFields(_Body):
    """What every run the cron starts is made of; checked as a run request (`RunCreate`) when
    the cron is created or changed."""

    input: Annotated[dict[str, Any] | list[Any] | None, AfterValidator(bound_messages)] = None
    metadata: Metadata | None = None
    config: RunConfig | None = None
    context: dict[str, Any] | None = None
    checkpoint_during: bool | None = None
    interrupt_before: Literal["*"] | list[str] | None = None
    interrupt_after: Literal["*"] | list[str] | None = None
    webhook: str | None = None
    stream_mode: str | list[str] | None = None
    stream_subgraphs: bool | None = None
    stream_resumable: bool | None = None
    durability: Literal["sync", "async", "exit"] | None = None


class CronCreate(CronRunFields):
    """`POST /runs/crons` (a new thread per run) and `POST /threads/{id}/runs/crons`."""

    assistant_id: str = Field(description="The graph name (`agent`) or an assistant UUID.")
    schedule: str = Field(description="A cron expression, e.g. `0 9 * * *`.")
    timezone: str | None = Field(None, description="IANA name; the schedule is in UTC without.")
    end_time: datetime | None = Field(None, description="No runs after it; naive means UTC.")
    enabled: bool = True
    # Crons without a thread only: delete each run's thread when the run ends, or keep it.
    on_run_completed: OnRunCompleted | None = None
    multitask_strategy: MultitaskStrategy | None = None


class CronPatch(CronRunFields):
    """`PATCH /runs/crons/{id}`: the fields given change; `metadata` merges; `end_time: null`
    removes the end time."""

    schedule: str | None = None
    timezone: str | None = None
    end_time: datetime | None = None
    enabled: bool | None = None
    on_run_completed: OnRunCompleted | None = None


class CronSearch(_Body):
    assistant_id: str | None = None
    thread_id: str | None = None
    enabled: bool | None = None
    metadata: Metadata | None = None
    limit: Limit = 10
    offset: Offset = 0
    sort_by: CronSortBy | None = None
    sort_order: SortOrder | None = None
    select: list[CronField] | None = None


class CronCount(_Body):
    assistant_id: str | None = None
    thread_id: str | None = None
    metadata: Metadata | None = None
