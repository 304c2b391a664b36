"""The assistant tables: each assistant's latest version, and every version it has had.

Written against the service's `Database` (SQLite or PostgreSQL); the tables are made by the
storage's migrations. Each assistant belongs to the owner that created it (see
`service.storage.owners`), or to nobody: the system assistants, which every owner sees and none
may change.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from threadloom.service.errors import Forbidden, NotFound
from threadloom.service.storage.database import Database, Queries, Row
from threadloom.service.storage.owners import current_owner, policy_filter, visible_rows
from threadloom.service.storage.policy_filters import filter_condition

AssistantSortBy = Literal["assistant_id", "graph_id", "name", "created_at", "updated_at"]

_COLUMNS = (
    "assistant_id, version, graph_id, name, description, config, context, metadata, created_at"
)
_LATEST = f"{_COLUMNS}, updated_at"
# A version's own time is when it was made.
_VERSION = f"{_COLUMNS}, created_at AS updated_at"


@dataclass(frozen=True, slots=True)
class Assistant:
    """One version of an assistant: the graph it runs and the configuration it runs it with."""

    assistant_id: str
    version: int
    graph_id: str
    name: str
    description: str | None
    config: dict[str, Any]
    context: dict[str, Any]
    metadata: dict[str, Any]
    created_at: datetime
    updated_at: datetime

    def to_api(self) -> dict[str, Any]:
        return {
            "assistant_id": self.assistant_id,
            "graph_id": self.graph_id,
            "config": self.config,
            "context": self.context,
            "metadata": self.metadata,
            "name": self.name,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "version": self.version,
            "description": self.description,
        }

    def version_to_api(self) -> dict[str, Any]:
        """The shape of an entry of `POST /assistants/{id}/versions`."""
        data = self.to_api()
        del data["updated_at"]
        return data


@dataclass(frozen=True, slots=True)
class AssistantFilter:
    """What a search or count matches: every given field must match."""

    graph_id: str | None = None
    name: str | None = None  # a case-insensitive substring of the name
    metadata: dict[str, Any] = field(default_factory=dict)


class AssistantStore:
    """Assistant rows; every change writes a new version and makes it the latest."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._sql = db.dialect

    async def insert(self, row: Assistant, *, if_absent: bool = False) -> bool:
        """Store a new assistant of the current owner at version 1; False if its id is taken
        (and `if_absent`)."""
        async with self._db.transaction() as tx:
            inserted = await tx.execute(
                f"INSERT INTO assistants ({_COLUMNS}, updated_at, owned_by) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                + (" ON CONFLICT (assistant_id) DO NOTHING" if if_absent else ""),
                (*self._values(row), self._sql.time(row.updated_at), current_owner()),
            )
            if inserted:
                await self._insert_version(tx, row)
        return bool(inserted)

    async def get(self, assistant_id: str, tx: Queries | None = None) -> Assistant | None:
        visible, visible_args = visible_rows(self._sql, "assistants", shared_unowned=True)
        row = await (tx or self._db).fetch_one(
            f"SELECT {_LATEST} FROM assistants WHERE assistant_id = ? AND {visible}",
            (assistant_id, *visible_args),
        )
        return self._row(row) if row else None

    async def update(self, row: Assistant) -> None:
        """Store `row` as the assistant's newest version (its `version` must be the next one)."""
        async with self._db.transaction() as tx:
            if not await self._changeable(tx, row.assistant_id):
                raise NotFound(f"Assistant {row.assistant_id} not found")
            await self._insert_version(tx, row)
            await self._set_latest(tx, row)

    async def restore(self, assistant_id: str, version: int) -> Assistant | None:
        """Make an earlier version the latest again; None if there is no such version."""
        async with self._db.transaction() as tx:
            if not await self._changeable(tx, assistant_id):
                return None
            found = await tx.fetch_one(
                f"SELECT {_VERSION} FROM assistant_versions WHERE assistant_id = ? AND version = ?",
                (assistant_id, version),
            )
            if found is None:
                return None
            old = self._row(found)
            await self._set_latest(tx, old)
        return await self.get(assistant_id)

    async def next_version(self, assistant_id: str) -> int:
        row = await self._db.fetch_one(
            "SELECT MAX(version) AS v FROM assistant_versions WHERE assistant_id = ?",
            (assistant_id,),
        )
        return int(row["v"] or 0) + 1 if row else 1

    async def delete(self, assistant_id: str) -> bool:
        async with self._db.transaction() as tx:
            if not await self._changeable(tx, assistant_id):
                return False
            # Versions go first: SQLite enforces the cascade only with foreign keys on.
            await tx.execute(
                "DELETE FROM assistant_versions WHERE assistant_id = ?", (assistant_id,)
            )
            return (
                await tx.execute("DELETE FROM assistants WHERE assistant_id = ?", (assistant_id,))
                > 0
            )

    async def search(
        self,
        where: AssistantFilter,
        *,
        limit: int,
        offset: int,
        sort_by: AssistantSortBy,
        descending: bool,
    ) -> list[Assistant]:
        clause, params = self._where(where)
        # Names sort case-insensitively, as LangGraph Server sorts them.
        key = f"LOWER({sort_by})" if sort_by in ("name", "graph_id") else sort_by
        order = "DESC" if descending else "ASC"
        rows = await self._db.fetch_all(
            f"SELECT {_LATEST} FROM assistants {clause} "
            f"ORDER BY {key} {order}, assistant_id {order} LIMIT ? OFFSET ?",
            (*params, limit, offset),
        )
        return [self._row(row) for row in rows]

    async def count(self, where: AssistantFilter) -> int:
        clause, params = self._where(where)
        row = await self._db.fetch_one(f"SELECT COUNT(*) AS n FROM assistants {clause}", params)
        return int(row["n"]) if row else 0

    async def versions(
        self, assistant_id: str, metadata: dict[str, Any], *, limit: int, offset: int
    ) -> list[Assistant]:
        """The assistant's versions, newest first."""
        clause, params = self._metadata_clauses(metadata)
        visible, visible_args = visible_rows(
            self._sql, "assistants", "assistants", shared_unowned=True
        )
        rows = await self._db.fetch_all(
            f"SELECT {_VERSION} FROM assistant_versions WHERE assistant_id = ? "
            f"{''.join(' AND ' + c for c in clause)} AND EXISTS (SELECT 1 FROM assistants "
            "WHERE assistants.assistant_id = assistant_versions.assistant_id "
            f"AND {visible}) ORDER BY version DESC LIMIT ? OFFSET ?",
            (assistant_id, *params, *visible_args, limit, offset),
        )
        return [self._row(row) for row in rows]

    async def _changeable(self, tx: Queries, assistant_id: str) -> bool:
        """Whether the current owner may change the assistant: False if it is not one the owner
        may see, or its metadata does not match the auth policy's filter (which, unlike reads,
        spares no system assistant); 403 if it is shared by every owner."""
        filters = policy_filter("assistants")
        if filters:
            scoped, scoped_args = filter_condition(self._sql, filters, "metadata")
            matched = await tx.fetch_one(
                f"SELECT 1 AS found FROM assistants WHERE assistant_id = ? AND {scoped}",
                (assistant_id, *scoped_args),
            )
            if matched is None:
                return False
        owner = current_owner()
        if owner is None:
            return True
        row = await tx.fetch_one(
            f"SELECT owned_by FROM assistants WHERE assistant_id = ?{self._sql.for_update}",
            (assistant_id,),
        )
        if row is not None and row["owned_by"] is None:
            raise Forbidden(
                f"Assistant {assistant_id} is shared by every API key, so no key may change or "
                "delete it. Create an assistant of your own (POST /assistants) and change that."
            )
        return row is not None and row["owned_by"] == owner

    async def _insert_version(self, tx: Queries, row: Assistant) -> None:
        await tx.execute(
            f"INSERT INTO assistant_versions ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            self._values(row),
        )

    async def _set_latest(self, tx: Queries, row: Assistant) -> None:
        sql = self._sql
        await tx.execute(
            "UPDATE assistants SET version = ?, graph_id = ?, name = ?, description = ?, "
            "config = ?, context = ?, metadata = ?, updated_at = ? WHERE assistant_id = ?",
            (
                row.version,
                row.graph_id,
                row.name,
                row.description,
                sql.json(row.config),
                sql.json(row.context),
                sql.json(row.metadata),
                sql.time(row.updated_at),
                row.assistant_id,
            ),
        )

    def _values(self, row: Assistant) -> tuple[Any, ...]:
        sql = self._sql
        return (
            row.assistant_id,
            row.version,
            row.graph_id,
            row.name,
            row.description,
            sql.json(row.config),
            sql.json(row.context),
            sql.json(row.metadata),
            sql.time(row.created_at),
        )

    def _where(self, where: AssistantFilter) -> tuple[str, list[Any]]:
        clauses, params = self._metadata_clauses(where.metadata)
        visible, visible_args = visible_rows(self._sql, "assistants", shared_unowned=True)
        clauses.append(visible)
        params.extend(visible_args)
        if where.graph_id is not None:
            clauses.append("graph_id = ?")
            params.append(where.graph_id)
        if where.name:
            clauses.append("LOWER(name) LIKE ? ESCAPE '\\'")
            params.append(_like_pattern(where.name.lower()))
        return f"WHERE {' AND '.join(clauses)}", params

    def _metadata_clauses(self, metadata: dict[str, Any]) -> tuple[list[str], list[Any]]:
        clauses: list[str] = []
        params: list[Any] = []
        for key, value in metadata.items():
            clauses.append(self._sql.json_field_equals("metadata"))
            params.extend([self._sql.json_key(key), self._sql.json(value)])
        return clauses, params

    def _row(self, row: Row) -> Assistant:
        sql = self._sql
        return Assistant(
            assistant_id=row["assistant_id"],
            version=int(row["version"]),
            graph_id=row["graph_id"],
            name=row["name"],
            description=row["description"],
            config=sql.read_json(row["config"]),
            context=sql.read_json(row["context"]),
            metadata=sql.read_json(row["metadata"]),
            created_at=sql.read_time(row["created_at"]),
            updated_at=sql.read_time(row["updated_at"]),
        )


def _like_pattern(text: str) -> str:
    """`text` as a LIKE pattern matching it anywhere, its wildcards escaped (ESCAPE '\\')."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"
