"""Ids of new threads and runs: time-ordered UUIDv7, as LangGraph Server makes them."""

from uuid_utils.compat import uuid7


def new_id() -> str:
    """A new UUIDv7 string; later ids sort after earlier ones."""
    return str(uuid7())
