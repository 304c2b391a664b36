"""The Store API's items: JSON documents filed under a namespace path and a key, per owner.

An item is `(namespace, key) -> value`, the namespace a path of labels such as
`("users", "ada", "memories")`. Each owner (see `service.storage.owners`) has a store of its own:
the owner is part of an item's key, so two owners may file items under the same namespace and
key without seeing each other's. Unlike threads, items put with auth off (owner '') stay apart
from those of the owners of API keys, even when auth is off.

Search matches a namespace prefix, equality of top-level fields of the value, and a plain
keyword query: every word of it must occur, case-insensitively (ASCII), in the value's JSON text.
There is no vector index, so no similarity score. An item put with a TTL (minutes) disappears
once it runs out; reading it (by default) starts the TTL again.

Example:
    >>> store = StoreItems(database)
    >>> await store.put(("users", "ada"), "prefs", {"theme": "dark"}, ttl_minutes=None)
    >>> await store.search(ItemQuery(namespace_prefix=("users",), filter={"theme": "dark"}))
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from threadloom.service.errors import BadRequest, NotSupported
from threadloom.service.storage.database import Database, Row
from threadloom.service.storage.owners import current_owner
from threadloom.service.storage.records import utc_now

Namespace = tuple[str, ...]

# Labels never contain it (the API refuses them), so a namespace is stored as one text.
SEPARATOR = "."
_COLUMNS = "namespace, key, value, created_at, updated_at, ttl_minutes"
_LIKE_ESCAPE = "\\"


@dataclass(frozen=True, slots=True)
class StoreItem:
    namespace: Namespace
    key: str
    value: dict[str, Any]
    created_at: datetime
    updated_at: datetime

    def to_api(self) -> dict[str, Any]:
        return {
            "namespace": list(self.namespace),
            "key": self.key,
            "value": self.value,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        }


@dataclass(frozen=True, slots=True)
class ItemQuery:
    """What a search matches (every part optional), and which page of the results it returns,
    most recently updated first."""

    namespace_prefix: Namespace = ()
    filter: dict[str, Any] = field(default_factory=dict)
    query: str | None = None
    limit: int = 10
    offset: int = 0


class StoreItems:
    """The items of the current owner, in SQLite or PostgreSQL."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._sql = db.dialect

    async def put(
        self, namespace: Namespace, key: str, value: dict[str, Any], *, ttl_minutes: float | None
    ) -> None:
        """Create or replace the item; with `ttl_minutes` it expires that long after its last
        write (or read)."""
        if not namespace:
            raise BadRequest("Namespace cannot be empty.")
        if namespace[0] == "langgraph":
            raise BadRequest(f'Root label for namespace cannot be "langgraph". Got: {namespace}')
        if ttl_minutes is not None and ttl_minutes <= 0:
            raise BadRequest(f"The TTL must be a positive number of minutes. Got: {ttl_minutes}")
        now = utc_now()
        time = self._sql.time
        # An expired item counts as gone: writing it again makes a new one.
        await self._db.execute(
            f"INSERT INTO store_items ({_COLUMNS}, expires_at, owned_by) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (owned_by, namespace, key) DO UPDATE SET "
            "value = excluded.value, updated_at = excluded.updated_at, "
            "ttl_minutes = excluded.ttl_minutes, expires_at = excluded.expires_at, "
            "created_at = CASE WHEN store_items.expires_at <= excluded.updated_at "
            "THEN excluded.created_at ELSE store_items.created_at END",
            (
                _encode(namespace),
                key,
                self._sql.json(value),
                time(now),
                time(now),
                ttl_minutes,
                None if ttl_minutes is None else time(_expiry(now, ttl_minutes)),
                _owner(),
            ),
        )

    async def get(self, namespace: Namespace, key: str, *, refresh_ttl: bool) -> StoreItem | None:
        """The item, or None; with `refresh_ttl` its TTL starts again."""
        live, live_args = self._live()
        row = await self._db.fetch_one(
            f"SELECT {_COLUMNS} FROM store_items "
            f"WHERE owned_by = ? AND namespace = ? AND key = ? AND {live}",
            (_owner(), _encode(namespace), key, *live_args),
        )
        if row is None:
            return None
        if refresh_ttl:
            await self._refresh([row])
        return self._item(row)

    async def delete(self, namespace: Namespace, key: str) -> None:
        """Delete the item if there is one."""
        await self._db.execute(
            "DELETE FROM store_items WHERE owned_by = ? AND namespace = ? AND key = ?",
            (_owner(), _encode(namespace), key),
        )

    async def search(self, query: ItemQuery, *, refresh_ttl: bool) -> list[StoreItem]:
        """The page of items `query` asks for; with `refresh_ttl` their TTLs start again.
        Raises `NotSupported` for filter operators (`{"$gt": 1}`): only equality is."""
        live, live_args = self._live()
        clauses, params = ["owned_by = ?", live], [_owner(), *live_args]
        if query.namespace_prefix:
            clauses.append(_UNDER_PREFIX)
            params.extend(_prefix_args(query.namespace_prefix))
        for name, wanted in query.filter.items():
            if isinstance(wanted, dict) and any(str(k).startswith("$") for k in wanted):
                raise NotSupported(
                    f"Filter operators such as {next(iter(wanted))!r} are not supported; a "
                    "filter matches top-level fields of the value by equality."
                )
            clauses.append(self._sql.json_field_equals("value"))
            params.extend([self._sql.json_key(name), self._sql.json(wanted)])
        for word in (query.query or "").split():
            clauses.append(f"LOWER(CAST(value AS TEXT)) LIKE ? ESCAPE '{_LIKE_ESCAPE}'")
            params.append(f"%{_escape_like(word.lower())}%")
        rows = await self._db.fetch_all(
            f"SELECT {_COLUMNS} FROM store_items WHERE {' AND '.join(clauses)} "
            "ORDER BY updated_at DESC, namespace, key LIMIT ? OFFSET ?",
            (*params, query.limit, query.offset),
        )
        if refresh_ttl:
            await self._refresh(rows)
        return [self._item(row) for row in rows]

    async def list_namespaces(
        self,
        *,
        prefix: Namespace = (),
        suffix: Namespace = (),
        max_depth: int | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[Namespace]:
        """The namespaces holding items, in order, that start with `prefix` and end with
        `suffix` (a `*` label matches any label), cut to `max_depth` labels."""
        live, live_args = self._live()
        clauses, params = ["owned_by = ?", live], [_owner(), *live_args]
        if prefix and "*" not in prefix:
            clauses.append(_UNDER_PREFIX)
            params.extend(_prefix_args(prefix))
        rows = await self._db.fetch_all(
            f"SELECT DISTINCT namespace FROM store_items WHERE {' AND '.join(clauses)}", params
        )
        found = {
            namespace[:max_depth]
            for namespace in (_decode(row["namespace"]) for row in rows)
            if _matches(namespace[: len(prefix)], prefix)
            and _matches(namespace[len(namespace) - len(suffix) :], suffix)
        }
        return sorted(found)[offset : offset + limit]

    async def delete_expired(self) -> int:
        """Delete the items of every owner whose TTL has run out; returns how many."""
        return await self._db.execute(
            "DELETE FROM store_items WHERE expires_at <= ?", (self._sql.time(utc_now()),)
        )

    def _live(self) -> tuple[str, tuple[Any, ...]]:
        return "(expires_at IS NULL OR expires_at > ?)", (self._sql.time(utc_now()),)

    async def _refresh(self, rows: Sequence[Row]) -> None:
        now = utc_now()
        renewed = [
            (
                self._sql.time(_expiry(now, row["ttl_minutes"])),
                _owner(),
                row["namespace"],
                row["key"],
            )
            for row in rows
            if row["ttl_minutes"] is not None
        ]
        if renewed:
            await self._db.execute_many(
                "UPDATE store_items SET expires_at = ? "
                "WHERE owned_by = ? AND namespace = ? AND key = ?",
                renewed,
            )

    def _item(self, row: Row) -> StoreItem:
        return StoreItem(
            namespace=_decode(row["namespace"]),
            key=row["key"],
            value=self._sql.read_json(row["value"]),
            created_at=self._sql.read_time(row["created_at"]),
            updated_at=self._sql.read_time(row["updated_at"]),
        )


# The namespace is the prefix itself, or starts with it and a separator.
_UNDER_PREFIX = "(namespace = ? OR substr(namespace, 1, ?) = ?)"


def _prefix_args(prefix: Namespace) -> tuple[str, int, str]:
    text = _encode(prefix)
    return text, len(text) + 1, text + SEPARATOR


def _owner() -> str:
    return current_owner() or ""


def _encode(namespace: Namespace) -> str:
    return SEPARATOR.join(namespace)


def _decode(text: str) -> Namespace:
    return tuple(text.split(SEPARATOR))


def _expiry(now: datetime, ttl_minutes: float) -> datetime:
    return now + timedelta(minutes=ttl_minutes)


def _matches(labels: Namespace, pattern: Namespace) -> bool:
    return len(labels) == len(pattern) and all(
        wanted in ("*", label) for label, wanted in zip(labels, pattern, strict=True)
    )


def _escape_like(text: str) -> str:
    for special in (_LIKE_ESCAPE, "%", "_"):
        text = text.replace(special, _LIKE_ESCAPE + special)
    return text
