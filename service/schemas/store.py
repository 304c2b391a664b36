"""Bodies of the Store API routes (`/store/...`)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from threadloom.service.schemas.bounds import (
    MAX_NAMESPACE_DEPTH,
    Limit,
    Metadata,
    Offset,
    TtlMinutes,
)


def check_labels(labels: list[str]) -> list[str]:
    """Namespace labels are non-empty and hold no period (the separator of `GET /store/items`)
    and no NUL."""
    for label in labels:
        if not label or "." in label or "\x00" in label:
            raise ValueError(
                f"Namespace label {label!r} must be a non-empty string without periods"
            )
    return labels


Namespace = Annotated[
    list[str], Field(max_length=MAX_NAMESPACE_DEPTH), AfterValidator(check_labels)
]


class _Body(BaseModel):
    # Unknown fields are ignored so that newer clients keep working against this server.
    model_config = ConfigDict(extra="ignore")


class StorePut(_Body):
    namespace: Namespace
    key: str
    value: dict[str, Any]
    # With a `store.index`: false leaves the item unembedded; a list of paths embeds those
    # fields instead of the index's. Without one it is ignored, as LangGraph does.
    index: Literal[False] | list[str] | None = None
    ttl: TtlMinutes | None = Field(None, description="Minutes until the item expires.")


class StoreDelete(_Body):
    namespace: Namespace = Field(default_factory=list)
    key: str


class StoreSearch(_Body):
    namespace_prefix: Namespace | None = None
    filter: Metadata | None = None
    limit: Limit = 10
    offset: Offset = 0
    query: str | None = None
    refresh_ttl: bool | None = None


class StoreListNamespaces(_Body):
    """Namespaces to list; a `*` label in `prefix` or `suffix` matches any label."""

    prefix: Namespace | None = None
    suffix: Namespace | None = None
    max_depth: int | None = Field(None, ge=1, le=MAX_NAMESPACE_DEPTH)
    limit: Limit = 100
    offset: Offset = 0
