"""`GraphStore`: the Store API's items as LangGraph's `BaseStore`, for the graphs the server runs.

A node that takes `store: BaseStore` (or calls `langgraph.config.get_store()`) reads and writes
the very items `/store/items` serves, as in LangGraph Server. Each operation runs as the owner
the run acts for (`service.storage.owners`): a run's task inherits its request's owner, and a
cron's run its cron's, so a graph sees the store of whoever started the run.

Operations run one after another, each through `StoreItems`; there is deliberately no
background batching task (`AsyncBatchedBaseStore`), since a task of its own would run in its
own context, not the caller's, and so not as the run's owner.

Synchronous calls (`store.get(...)` in a plain `def` node, which LangGraph runs in a worker
thread) are handed to the event loop the store was made on and waited for; made on that loop
itself, they would block it for good, so they raise `SyncStoreCallError` instead.

Example:
    >>> graph.compile(checkpointer=saver, store=GraphStore(StoreItems(database)))
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

from langgraph.store.base import (
    BaseStore,
    GetOp,
    Item,
    ListNamespacesOp,
    Op,
    PutOp,
    Result,
    SearchItem,
    SearchOp,
    validate_op_namespace,
)

from threadloom.service.errors import NotSupported
from threadloom.service.storage.store_items import ItemQuery, Namespace, StoreItem, StoreItems


class SyncStoreCallError(RuntimeError):
    """A synchronous store method was called on the event loop that serves the database."""


class GraphStore(BaseStore):
    """LangGraph's store interface over the current owner's `StoreItems` (see the module).

    Make it on the event loop the service's database is used from.
    """

    supports_ttl = True

    def __init__(self, items: StoreItems) -> None:
        self._items = items
        self._loop = asyncio.get_running_loop()

    def batch(self, ops: Iterable[Op]) -> list[Result]:
        """Run `ops` on the store's event loop and wait for them (from a worker thread only)."""
        try:
            on_loop = asyncio.get_running_loop() is self._loop
        except RuntimeError:  # no loop in this thread
            on_loop = False
        if on_loop:
            raise SyncStoreCallError(
                "Synchronous store calls would block the server's event loop: in an async node "
                "use the async methods (`await store.aget(...)`, `aput`, `asearch`, "
                "`alist_namespaces`, `adelete`)."
            )
        # The coroutine runs in a copy of this thread's context, so as the run's owner.
        return asyncio.run_coroutine_threadsafe(self.abatch(ops), self._loop).result()

    async def abatch(self, ops: Iterable[Op]) -> list[Result]:
        """Run `ops` in order, as the current owner; results in the same order."""
        return [await self._run(op) for op in ops]

    async def _run(self, op: Op) -> Result:
        # Namespaces are stored as their labels joined by periods: a label holding one (or
        # nothing) would reach another namespace.
        validate_op_namespace(op)
        if isinstance(op, GetOp):
            found = await self._items.get(op.namespace, op.key, refresh_ttl=op.refresh_ttl)
            return None if found is None else _item(found)
        if isinstance(op, PutOp):
            if op.value is None:
                await self._items.delete(op.namespace, op.key)
            else:
                await self._items.put(
                    op.namespace, op.key, dict(op.value), ttl_minutes=op.ttl, index=op.index
                )
            return None
        if isinstance(op, SearchOp):
            query = ItemQuery(
                namespace_prefix=op.namespace_prefix,
                filter=op.filter or {},
                query=op.query,
                limit=op.limit,
                offset=op.offset,
            )
            found_items = await self._items.search(query, refresh_ttl=op.refresh_ttl)
            return [SearchItem(**_fields(item), score=item.score) for item in found_items]
        if isinstance(op, ListNamespacesOp):
            prefix, suffix = _prefix_and_suffix(op)
            return await self._items.list_namespaces(
                prefix=prefix,
                suffix=suffix,
                max_depth=op.max_depth,
                limit=op.limit,
                offset=op.offset,
            )
        raise NotSupported(f"Unknown store operation {type(op).__name__}.")


def _prefix_and_suffix(op: ListNamespacesOp) -> tuple[Namespace, Namespace]:
    """The one prefix and one suffix (either may be empty) that `BaseStore.list_namespaces`
    makes its conditions from."""
    paths: dict[str, Namespace] = {}
    for condition in op.match_conditions or ():
        if condition.match_type in paths:
            raise NotSupported(
                f"Listing namespaces takes one {condition.match_type} condition at most."
            )
        paths[condition.match_type] = tuple(condition.path)
    return paths.get("prefix", ()), paths.get("suffix", ())


def _fields(item: StoreItem) -> dict[str, Any]:
    return {
        "namespace": item.namespace,
        "key": item.key,
        "value": item.value,
        "created_at": item.created_at,
        "updated_at": item.updated_at,
    }


def _item(item: StoreItem) -> Item:
    return Item(**_fields(item))
