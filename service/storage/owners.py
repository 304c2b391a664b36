"""Who a request acts for, and the one rule that keeps each owner to its own rows.

With API keys configured, `service.auth` runs each request `acting_for` the owner its key names.
The tables then stamp the rows they create with that owner (column `owned_by`) and read, change
and delete only rows whose condition `visible_to_current_owner` holds: any other owner's thread,
run or assistant is absent for this one. With no owner set (auth off, or the server's own
background work such as recovery) every row is visible.

Tasks started during a request (a run's task) inherit its owner, as asyncio copies the context.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

OWNER_COLUMN = "owned_by"

_current_owner: ContextVar[str | None] = ContextVar("threadloom_owner", default=None)


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
