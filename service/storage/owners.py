"""Who a request acts for, and the one rule that keeps each owner to its own rows.

With API keys configured, `service.auth.api_keys` runs each request `acting_for` the owner its key
names.
The tables then stamp the rows they create with that owner (column `owned_by`) and read, change
and delete only rows whose condition `visible_to_current_owner` holds: any other owner's thread,
run or assistant is absent for this one. With no owner set (auth off, or the server's own
background work such as recovery) every row is visible.

Tasks started during a request (a run's task) inherit its owner, as asyncio copies the context.

An auth policy (`service.auth.policy`) narrows the same rule further: the filter its handler
returned for a resource (`scope_to_policy`) becomes one more condition, on the rows' metadata, of
every statement `visible_rows` guards for that resource in the rest of the request. A run is
seen through its thread's metadata, as LangGraph Server sees it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, Literal

from threadloom.service.storage.database import Dialect
from threadloom.service.storage.policy_filters import SYSTEM_ROWS, Filter, filter_condition

OWNER_COLUMN = "owned_by"
# The resources a policy scopes with metadata filters (the store checks namespaces instead).
Resource = Literal["threads", "assistants", "crons"]

_current_owner: ContextVar[str | None] = ContextVar("threadloom_owner", default=None)
_policy_filters: ContextVar[Mapping[str, Filter] | None] = ContextVar(
    "threadloom_policy_filters", default=None
)


def current_owner() -> str | None:
    """The owner the running request acts for; None when nobody is singled out."""
    return _current_owner.get()


@contextmanager
def acting_for(owner: str) -> Iterator[None]:
    """Make the storage act for `owner` within the block (and in tasks started inside it)."""
    token = _current_owner.set(owner)
    try:
        yield
    finally:
        _current_owner.reset(token)


def visible_to_current_owner(
    table: str | None = None, *, shared_unowned: bool = False
) -> tuple[str, tuple[Any, ...]]:
    """A SQL condition, and its parameters, that holds for the rows the current owner may see:
    its own, and with `shared_unowned` also rows nobody owns (the system assistants). Always
    true when no owner is set. `table` qualifies the column in statements that join."""
    owner = _current_owner.get()
    if owner is None:
        return "1 = 1", ()
    column = f"{table}.{OWNER_COLUMN}" if table else OWNER_COLUMN
    if shared_unowned:
        return f"({column} = ? OR {column} IS NULL)", (owner,)
    return f"{column} = ?", (owner,)


def scope_to_policy(resource: Resource, filters: Filter | None) -> None:
    """Keep the current request (and tasks it starts from now on) to the rows of `resource`
    whose metadata matches `filters`; None lifts the filter of that resource."""
    current = dict(_policy_filters.get() or {})
    if filters:
        current[resource] = filters
    else:
        current.pop(resource, None)
    _policy_filters.set(current)


def policy_filter(resource: Resource) -> Filter | None:
    """The filter the policy set on `resource` for the current request, if any."""
    return (_policy_filters.get() or {}).get(resource)


def visible_rows(
    dialect: Dialect,
    resource: Resource,
    table: str | None = None,
    *,
    shared_unowned: bool = False,
    metadata: str | None = None,
) -> tuple[str, tuple[Any, ...]]:
    """`visible_to_current_owner`, and the policy's filter on `resource` on the metadata
    (`metadata`: a column or subquery; default the table's `metadata` column). With
    `shared_unowned`, the graphs' system assistants stay visible to every user too."""
    owned, owned_args = visible_to_current_owner(table, shared_unowned=shared_unowned)
    filters = policy_filter(resource)
    if not filters:
        return owned, owned_args
    column = metadata or (f"{table}.metadata" if table else "metadata")
    scoped, scoped_args = filter_condition(dialect, filters, column)
    if shared_unowned:
        system, system_args = filter_condition(dialect, SYSTEM_ROWS, column)
        scoped, scoped_args = f"({scoped} OR {system})", [*scoped_args, *system_args]
    return f"{owned} AND {scoped}", (*owned_args, *scoped_args)
