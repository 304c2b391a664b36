"""Bodies of the assistant routes."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from threadloom.service.schemas.bounds import Limit, Metadata, Offset, RunConfig, Version
from threadloom.service.storage.assistants import AssistantSortBy

AssistantField = Literal[
    "assistant_id",
    "graph_id",
    "name",
    "description",
    "config",
    "context",
    "created_at",
    "updated_at",
    "metadata",
    "version",
]


class _Body(BaseModel):
    # Unknown fields are ignored so that newer clients keep working against this server.
    model_config = ConfigDict(extra="ignore")


class AssistantCreate(_Body):
    graph_id: str = Field(description="The graph the assistant runs (`agent`).")
    assistant_id: str | None = Field(None, description="A UUID; a new one is made when absent.")
    config: RunConfig = Field(default_factory=dict)
    context: dict[str, Any] = Field(default_factory=dict)
    metadata: Metadata = Field(default_factory=dict)
    if_exists: Literal["raise", "do_nothing"] = "raise"
    name: str = "Untitled"
    description: str | None = None


class AssistantPatch(_Body):
    graph_id: str | None = None
    config: RunConfig | None = None
    context: dict[str, Any] | None = None
    metadata: Metadata | None = None
    name: str | None = None
    description: str | None = None


class AssistantCount(_Body):
    metadata: Metadata | None = None
    graph_id: str | None = None
    name: str | None = None


class AssistantSearch(AssistantCount):
    limit: Limit = 10
    offset: Offset = 0
    sort_by: AssistantSortBy | None = None
    sort_order: Literal["asc", "desc"] | None = None
    select: list[AssistantField] | None = None


class AssistantVersionsSearch(_Body):
    metadata: Metadata | None = None
    limit: Limit = 10
    offset: Offset = 0


class AssistantVersionChange(_Body):
    version: Version
