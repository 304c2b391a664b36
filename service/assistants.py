"""Assistants: a served graph plus the configuration it runs with (system prompt, tools, ...).

Each graph has a system assistant named after it, with the UUID LangGraph Server gives it
(`uuid5` of the graph id), so `"agent"` and that UUID name the same assistant. Every change
makes a new version; runs use the latest one.

Example:
    >>> assistant = await assistants.create(AssistantCreate(
    ...     graph_id="agent", config={"configurable": {"system_prompt": "Be brief."}}))
    >>> await assistants.resolve(assistant.assistant_id)  # what a run's assistant_id names
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any
from uuid import UUID, uuid4, uuid5

from threadloom.service.auth.policy import authorize
from threadloom.service.errors import (
    THREAD_OR_ASSISTANT_NOT_FOUND,
    BadRequest,
    Conflict,
    Forbidden,
    InvalidRequest,
    NotFound,
)
from threadloom.service.schemas.assistants import (
    AssistantCount,
    AssistantCreate,
    AssistantPatch,
    AssistantSearch,
    AssistantVersionsSearch,
)
from threadloom.service.storage.assistants import Assistant, AssistantFilter, AssistantStore
from threadloom.service.storage.database import Queries
from threadloom.service.storage.owners import policy_filter
from threadloom.service.storage.policy_filters import SYSTEM_ROWS, stamped
from threadloom.service.storage.records import utc_now

__all__ = ["GRAPH_ID", "Assistant", "Assistants", "search_value", "system_assistant_id"]

GRAPH_ID = "agent"
# LangGraph Server names a graph's default assistant uuid5(this namespace, graph id); the same
# namespace gives our assistant the UUID that clients of `langgraph dev` already know.
ASSISTANT_NAMESPACE = UUID("6ba7b821-9dad-11d1-80b4-00c04fd430c8")
SYSTEM = SYSTEM_ROWS


def system_assistant_id(graph_id: str) -> str:
    return str(uuid5(ASSISTANT_NAMESPACE, graph_id))


class Assistants:
    """The assistants of the served graphs, kept in the database."""

    def __init__(self, store: AssistantStore, graph_ids: Sequence[str]) -> None:
        self._store = store
        self.graph_ids = list(graph_ids)

    async def install(self) -> None:
        """Create each graph's system assistant (owned by nobody), unless it exists."""
        now = utc_now()
        for graph_id in self.graph_ids:
            system = Assistant(
                assistant_id=system_assistant_id(graph_id),
                version=1,
                graph_id=graph_id,
                name=graph_id,
                description=None,
                config={},
                context={},
                metadata=dict(SYSTEM),
                created_at=now,
                updated_at=now,
            )
            await self._store.insert(system, if_absent=True)

    async def resolve(self, assistant_id: str, tx: Queries | None = None) -> Assistant:
        """The assistant a run names by graph name or UUID (422 for neither, 404 if unknown),
        read in `tx` if given."""
        if assistant_id in self.graph_ids:
            assistant_id = system_assistant_id(assistant_id)
        try:
            key = str(UUID(assistant_id))
        except ValueError:
            raise InvalidRequest(
                f"Invalid assistant: '{assistant_id}'. Must be either:\n"
                "- A valid assistant UUID, or\n"
                f"- One of the registered graphs: {', '.join(self.graph_ids)}"
            ) from None
        assistant = await self._store.get(key, tx)
        if assistant is None:
            raise NotFound(THREAD_OR_ASSISTANT_NOT_FOUND)
        return assistant

    async def get(self, assistant_id: str) -> Assistant:
        """The assistant with this UUID (or the system assistant of this graph name)."""
        key = self._key(assistant_id)
        assistant = await self._store.get(key)
        if assistant is None:
            raise NotFound(f"Assistant {key} not found")
        return assistant

    async def read(self, assistant_id: str) -> Assistant:
        """`get`, for the caller: the auth policy's `assistants.read` handler judges it first,
        and its filter keeps other users' assistants unknown (404), as on every front."""
        await authorize("assistants", "read", {"assistant_id": assistant_id})
        return await self.get(assistant_id)

    async def visible(self, body: AssistantSearch, *, peek: int = 0) -> list[Assistant]:
        """`search`, for the caller: the policy's `assistants.search` handler judges it and
        filters the rows; `peek` more rows than `body.limit` are read (to tell a next page)."""
        await authorize("assistants", "search", search_value(body))
        return await self.search(body.model_copy(update={"limit": body.limit + peek}))

    async def create(self, body: AssistantCreate) -> Assistant:
        self._check_graph(body.graph_id)
        _check_not_posing_as_system(body.metadata)
        assistant_id = _uuid(body.assistant_id) if body.assistant_id else str(uuid4())
        config, context = _in_step(body.config, body.context)
        now = utc_now()
        assistant = Assistant(
            assistant_id=assistant_id,
            version=1,
            graph_id=body.graph_id,
            name=body.name,
            description=body.description,
            config=config,
            context=context or {},
            metadata=stamped(body.metadata, policy_filter("assistants")),
            created_at=now,
            updated_at=now,
        )
        if await self._store.insert(assistant, if_absent=True):
            return assistant
        if body.if_exists == "do_nothing" and (existing := await self._store.get(assistant_id)):
            return existing
        raise Conflict(
            f"Assistant {assistant_id} already exists. Use another ID, or "
            '"if_exists": "do_nothing" to get the existing assistant.'
        )

    async def patch(self, assistant_id: str, body: AssistantPatch) -> Assistant:
        """Make a new version from the latest: the fields given replace it, metadata merges."""
        key = _uuid(assistant_id)
        if body.graph_id is not None:
            self._check_graph(body.graph_id)
        _check_not_posing_as_system(body.metadata)
        config, context = _in_step(body.config or {}, body.context)
        current = await self._store.get(key)
        if current is None:
            raise NotFound(f"Assistant {key} not found")
        updated = replace(
            current,
            version=await self._store.next_version(key),
            graph_id=body.graph_id or current.graph_id,
            name=body.name if body.name is not None else current.name,
            description=body.description
            if body.description is not None
            else current.description,
            config=config or current.config,
            context=current.context if context is None else context,
            # The auth policy's filter stays stamped: a patch cannot give the assistant away.
            metadata=stamped(
                {**current.metadata, **(body.metadata or {})}, policy_filter("assistants")
            ),
            created_at=utc_now(),
            updated_at=utc_now(),
        )
        await self._store.update(updated)
        return await self.get(key)

    async def delete(self, assistant_id: str) -> Assistant:
        """Delete the assistant and its versions; returns what was deleted."""
        key = _uuid(assistant_id)
        assistant = await self._store.get(key)
        if assistant is None or not await self._store.delete(key):
            raise NotFound(f"Assistant with ID {key} not found")
        return assistant

    async def search(self, body: AssistantSearch) -> list[Assistant]:
        return await self._store.search(
            self._filter(body),
            limit=body.limit,
            offset=body.offset,
            sort_by=body.sort_by or "created_at",
            descending=(body.sort_order or "desc") == "desc",
        )

    async def count(self, body: AssistantCount) -> int:
        return await self._store.count(self._filter(body))

    async def versions(self, assistant_id: str, body: AssistantVersionsSearch) -> list[Assistant]:
        key = _uuid(assistant_id)
        found = await self._store.versions(
            key, body.metadata or {}, limit=body.limit, offset=body.offset
        )
        if not found:
            raise NotFound(f"Assistant {key} not found")
        return found

    async def set_latest(self, assistant_id: str, version: int) -> Assistant:
        key = _uuid(assistant_id)
        await self.get(key)
        restored = await self._store.restore(key, version)
        if restored is None:
            raise NotFound(f"Version {version} not found for assistant {key}")
        return restored

    def _key(self, assistant_id: str) -> str:
        if assistant_id in self.graph_ids:
            return system_assistant_id(assistant_id)
        return _uuid(assistant_id)

    def _filter(self, body: AssistantCount) -> AssistantFilter:
        if body.graph_id is not None:
            self._check_graph(body.graph_id)
        return AssistantFilter(graph_id=body.graph_id, name=body.name, metadata=body.metadata or {})

    def _check_graph(self, graph_id: str) -> None:
        if graph_id not in self.graph_ids:
            raise NotFound(f"Graph '{graph_id}' not found. Expected one of: {self.graph_ids}")


def search_value(body: AssistantCount) -> dict[str, Any]:
    """What a policy's `assistants.search` handler receives (LangGraph's `AssistantsSearch`)."""
    return {
        "graph_id": body.graph_id,
        "metadata": body.metadata or {},
        "limit": getattr(body, "limit", None),
        "offset": getattr(body, "offset", None),
    }


def _check_not_posing_as_system(metadata: dict[str, Any] | None) -> None:
    """Under an auth policy the system assistants' metadata makes an assistant readable by
    every user (`service.storage.owners.visible_rows`), so no user's assistant may carry it."""
    if policy_filter("assistants") and (metadata or {}).get("created_by") == "system":
        raise Forbidden(
            "Metadata 'created_by': 'system' is reserved for the graphs' system assistants."
        )


def _uuid(assistant_id: str) -> str:
    try:
        return str(UUID(assistant_id))
    except ValueError:
        raise InvalidRequest("Invalid assistant ID: must be a UUID") from None


def _in_step(
    config: dict[str, Any], context: dict[str, Any] | None
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """An assistant's `config.configurable` and `context` hold the same values (LangGraph
    Server keeps them in step, `context` being the newer name); giving both is an error.
    The context is None when neither gives one."""
    configurable = config.get("configurable") or {}
    if configurable and context:
        raise BadRequest(
            "Cannot specify both configurable and context. Prefer setting context alone. "
            "Context was introduced in LangGraph 0.6.0 and is the long term planned replacement "
            "for configurable."
        )
    if configurable:
        return config, dict(configurable)
    if context:
        return {**config, "configurable": dict(context)}, context
    return config, context
