"""Ids of threads and runs: new ones time-ordered UUIDv7, as LangGraph Server makes them;
given ones checked and written the canonical way."""

from uuid import UUID

from uuid_utils.compat import uuid7

from threadloom.service.errors import InvalidRequest


def new_id() -> str:
    """A new UUIDv7 string; later ids sort after earlier ones."""
    return str(uuid7())


def canonical_id(value: str, what: str) -> str:
    """`value` as a canonical UUID string; 422 naming `what` if it is not a UUID."""
    try:
        return str(UUID(value))
    except ValueError:
        raise InvalidRequest(f"Invalid {what} ID: must be a UUID, got {value!r}.") from None
