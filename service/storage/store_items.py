"""The Store API's items: JSON documents filed under a namespace path and a key, per owner.

An item is `(namespace, key) -> value`, the namespace a path of labels such as
`("users", "ada", "memories")`. Each owner (see `service.storage.owners`) has a store of its own:
the owner is part of an item's key, so two owners may file items under the same namespace and
key without seeing each other's. Unlike threads, items put with auth off (owner '') stay apart
from those of the owners of API keys, even when auth is off.

Search matches a namespace prefix and equality of top-level fields of the value, most recently
updated first. Without an index a query is ignored, as LangGraph Server ignores it (its
in-memory and PostgreSQL stores match no text without an index). With an index
(`store.index`, see `service.deployment.store_index`) items are embedded as they are put, and a
query
ranks the matching items by cosine similarity, each with its `score` (see
`service.storage.store_vectors`); items put with `index=False` follow the scored ones, unscored.
An item put with a TTL (minutes) disappears once it runs out; reading it (by default) starts
the TTL again.

Example:
    >>> store = StoreItems(database)
    >>> await store.put(("users", "ada"), "prefs", {"theme": "dark"}, ttl_minutes=None)
    >>> await store.search(ItemQuery(namespace_prefix=("users",), filter={"theme": "dark"}))
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

from langgraph.store.base.embed import get_text_at_path

from threadloom.service.errors import BadRequest, NotSupported
from threadloom.service.storage.database import Database, Queries, Row
from threadloom.service.storage.owners import current_owner
from threadloom.service.storage.records import utc_now
from threadloom.service.storage.store_vectors import BATCH_ROWS, TopItems, encode

if TYPE_CHECKING:  # the index is loaded by the service, which hands it in
    from threadloom.service.deployment.store_index import StoreIndex

Namespace = tuple[str, ...]

# Labels never contain it (the API refuses them), so a namespace is stored as one text.
SEPARATOR = "."
_COLUMNS = "namespace, key, value, created_at, updated_at, ttl_minutes"


@dataclass(frozen=True, slots=True)
class StoreItem:
    namespace: Namespace
    key: str
    value: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    # Similarity to a search's query, with an index; None otherwise.
    score: float | None = None

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
    """What a search matches (every part optional), and which page of the results it returns:
    most recently updated first, or most similar to `query` first with an index."""

    namespace_prefix: Namespace = ()
    filter: dict[str, Any] = field(default_factory=dict)
    query: str | None = None
    limit: int = 10
    offset: int = 0


class StoreItems:
    """The items of the current owner, in SQLite or PostgreSQL; embedded for semantic search
    when an `index` is given."""

    def __init__(self, db: Database, index: StoreIndex | None = None) -> None:
        self._db = db
        self._sql = db.dialect
        self.index = index

    async def put(
        self,
        namespace: Namespace,
        key: str,
        value: dict[str, Any],
        *,
        ttl_minutes: float | None,
        index: Literal[False] | list[str] | None = None,
    ) -> None:
        """Create or replace the item; with `ttl_minutes` it expires that long after its last
        write (or read). With an index, the item's fields (`index`, else the index's) are
        embedded; `index=False` leaves it out of semantic ranking."""
        if not namespace:
            raise BadRequest("Namespace cannot be empty.")
        if namespace[0] == "langgraph":
            raise BadRequest(f'Root label for namespace cannot be "langgraph". Got: {namespace}')
        if ttl_minutes is not None and ttl_minutes <= 0:
            raise BadRequest(f"The TTL must be a positive number of minutes. Got: {ttl_minutes}")
        vectors = await self._embed(value, index)
        now = utc_now()
        item_key = (_owner(), _encode(namespace), key)
        async with self._db.transaction() as tx:
            await self._upsert(tx, namespace, key, value, ttl_minutes, now)
            if self.index is not None:
                await tx.execute(
                    "DELETE FROM store_vectors WHERE owned_by = ? AND namespace = ? AND key = ?",
                    item_key,
                )
            if vectors:
                await tx.execute_many(
                    "INSERT INTO store_vectors (owned_by, namespace, key, field, embedding) "
                    "VALUES (?, ?, ?, ?, ?)",
                    [(*item_key, name, encode(vector)) for name, vector in vectors],
                )

    async def _upsert(
        self,
        tx: Queries,
        namespace: Namespace,
        key: str,
        value: dict[str, Any],
        ttl_minutes: float | None,
        now: datetime,
    ) -> None:
        time = self._sql.time
        # An expired item counts as gone: writing it again makes a new one.
        await tx.execute(
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
        clauses, params = self._where(query)
        if query.query and self.index is not None:
            wanted = await self.index.embed_query(query.query)
            return await self._ranked(wanted, query, clauses, params, refresh_ttl=refresh_ttl)
        # Without an index a query is ignored, as LangGraph Server ignores it.
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

    def _where(self, query: ItemQuery) -> tuple[list[str], list[Any]]:
        """Conditions on `store_items` for the owner, liveness, prefix and filter of `query`."""
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
        return clauses, params

    async def _embed(
        self, value: dict[str, Any], fields: Literal[False] | list[str] | None
    ) -> list[tuple[str, list[float]]]:
        """`(field, vector)` for each text the index takes from `value` (none without one)."""
        if self.index is None or fields is False:
            return []
        named: list[tuple[str, str]] = []
        for path in fields or self.index.fields:
            texts = get_text_at_path(value, path)
            named += [(path if len(texts) == 1 else f"{path}#{i}", t) for i, t in enumerate(texts)]
        vectors = await self.index.embed_texts([text for _, text in named])
        return [(name, vector) for (name, _), vector in zip(named, vectors, strict=True)]

    async def _ranked(
        self,
        wanted: list[float],
        query: ItemQuery,
        clauses: list[str],
        params: list[Any],
        *,
        refresh_ttl: bool,
    ) -> list[StoreItem]:
        """The page of matching items ranked by similarity to the vector `wanted`: scored
        items first, then those without vectors, most recently updated first."""
        where, keep = " AND ".join(clauses), query.offset + query.limit
        top = TopItems(wanted, keep)
        after: tuple[str, str, str] = ("", "", "")
        while True:
            rows = await self._db.fetch_all(
                "SELECT namespace, key, field, embedding FROM store_vectors WHERE owned_by = ? "
                f"AND (namespace, key) IN (SELECT namespace, key FROM store_items WHERE {where}) "
                "AND (namespace, key, field) > (?, ?, ?) ORDER BY namespace, key, field LIMIT ?",
                (_owner(), *params, *after, BATCH_ROWS),
            )
            top.add(rows)
            if len(rows) < BATCH_ROWS:
                break
            after = (rows[-1]["namespace"], rows[-1]["key"], rows[-1]["field"])
        ranked: list[tuple[tuple[str, str], float | None]] = [*top.best()]
        if len(ranked) < keep:
            unscored = await self._db.fetch_all(
                f"SELECT namespace, key FROM store_items WHERE {where} AND NOT EXISTS ("
                "SELECT 1 FROM store_vectors v WHERE v.owned_by = store_items.owned_by "
                "AND v.namespace = store_items.namespace AND v.key = store_items.key) "
                "ORDER BY updated_at DESC, namespace, key LIMIT ?",
                (*params, keep - len(ranked)),
            )
            ranked += [((row["namespace"], row["key"]), None) for row in unscored]
        page = ranked[query.offset : keep]
        if not page:
            return []
        pairs = ", ".join("(?, ?)" for _ in page)
        rows = await self._db.fetch_all(
            f"SELECT {_COLUMNS} FROM store_items WHERE owned_by = ? "
            f"AND (namespace, key) IN (VALUES {pairs})",
            (_owner(), *(part for item, _ in page for part in item)),
        )
        if refresh_ttl:
            await self._refresh(rows)
        found = {(row["namespace"], row["key"]): row for row in rows}
        return [
            replace(self._item(found[item]), score=score) for item, score in page if item in found
        ]

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


